"""Tests for the decode package's public face."""

from __future__ import annotations

import loglens.server.decode as decode


class TestPublicNames:
    def test_all_is_pinned(self) -> None:
        """The package exports exactly these names, each of which exists."""
        assert sorted(decode.__all__) == sorted(
            [
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
        )
        assert all(hasattr(decode, name) for name in decode.__all__)
