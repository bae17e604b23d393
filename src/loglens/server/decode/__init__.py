"""Request bodies of stock log shippers' HTTP APIs turned into loglens Records, one module a protocol.

Pure functions, no HTTP: the daemon's endpoints undo `Content-Encoding` with `decompress` (except for
Loki, whose decoder takes the body as received), call a decoder and build the reply from its result.
"""

from __future__ import annotations

from loglens.server.decode.base import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_RECORDS,
    Decoded,
    FieldMapping,
    PayloadError,
    PayloadTooLarge,
    decompress,
)
from loglens.server.decode.datadog import decode_datadog
from loglens.server.decode.elasticsearch import BulkDecoded, BulkItem, bulk_response, decode_es_bulk
from loglens.server.decode.loki import decode_loki
from loglens.server.decode.ndjson import decode_ndjson
from loglens.server.decode.otlp import decode_otlp, otlp_response
from loglens.server.decode.splunk import (
    HecDecoded,
    NoData,
    decode_hec_event,
    decode_hec_raw,
    hec_error_response,
    hec_response,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_RECORDS",
    "BulkDecoded",
    "BulkItem",
    "Decoded",
    "FieldMapping",
    "HecDecoded",
    "NoData",
    "PayloadError",
    "PayloadTooLarge",
    "bulk_response",
    "decode_datadog",
    "decode_es_bulk",
    "decode_hec_event",
    "decode_hec_raw",
    "decode_loki",
    "decode_ndjson",
    "decode_otlp",
    "decompress",
    "hec_error_response",
    "hec_response",
    "otlp_response",
]
