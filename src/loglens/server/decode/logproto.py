"""Loki's push protobuf (`logproto.PushRequest`), built at import time from a descriptor.

No Python package ships these messages, so the schema of Loki's `pkg/push/push.proto` is declared here
field by field. The string fields are declared `bytes` (the same wire type): Go writes whatever bytes
a log line holds, and a protobuf `string` would make one invalid UTF-8 line fail the whole request.
"""

from __future__ import annotations

from typing import Any, Final

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2

__all__ = ["EntryAdapter", "LabelPairAdapter", "PushRequest", "StreamAdapter"]

_FIELD = descriptor_pb2.FieldDescriptorProto
_OPTIONAL: Final = _FIELD.LABEL_OPTIONAL
_REPEATED: Final = _FIELD.LABEL_REPEATED

# (message, [(field name, number, label, type, type name of a message field)])
_SCHEMA: Final[tuple[tuple[str, tuple[tuple[str, int, int, int, str], ...]], ...]] = (
    ("PushRequest", (
        ("streams", 1, _REPEATED, _FIELD.TYPE_MESSAGE, ".logproto.StreamAdapter"),
        ("format", 2, _OPTIONAL, _FIELD.TYPE_BYTES, ""),
    )),
    ("StreamAdapter", (
        ("labels", 1, _OPTIONAL, _FIELD.TYPE_BYTES, ""),
        ("entries", 2, _REPEATED, _FIELD.TYPE_MESSAGE, ".logproto.EntryAdapter"),
        ("hash", 3, _OPTIONAL, _FIELD.TYPE_UINT64, ""),
    )),
    ("EntryAdapter", (
        ("timestamp", 1, _OPTIONAL, _FIELD.TYPE_MESSAGE, ".google.protobuf.Timestamp"),
        ("line", 2, _OPTIONAL, _FIELD.TYPE_BYTES, ""),
        ("structuredMetadata", 3, _REPEATED, _FIELD.TYPE_MESSAGE, ".logproto.LabelPairAdapter"),
    )),
    ("LabelPairAdapter", (
        ("name", 1, _OPTIONAL, _FIELD.TYPE_BYTES, ""),
        ("value", 2, _OPTIONAL, _FIELD.TYPE_BYTES, ""),
    )),
)  # fmt: skip


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="loglens/server/decode/logproto_push.proto",
        package="logproto",
        syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )
    for message_name, fields in _SCHEMA:
        message = proto.message_type.add(name=message_name)
        for name, number, label, kind, type_name in fields:
            added = message.field.add(name=name, number=number, label=label, type=kind)
            if type_name:
                added.type_name = type_name
    return proto


def _message_classes() -> dict[str, Any]:
    # A private pool: the default one is shared with every other protobuf user in the process, and
    # another `logproto` there (a Loki client library, say) would clash with this one.
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(_file_descriptor())
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"logproto.{name}"))
        for name, _ in _SCHEMA
    }


_CLASSES: Final = _message_classes()
PushRequest: Any = _CLASSES["PushRequest"]
StreamAdapter: Any = _CLASSES["StreamAdapter"]
EntryAdapter: Any = _CLASSES["EntryAdapter"]
LabelPairAdapter: Any = _CLASSES["LabelPairAdapter"]
