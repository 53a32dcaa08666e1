"""Decode BuildKit's progress messages: the `moby.buildkit.trace` aux payload of a BuildKit build.

Each payload is a base64 protobuf `StatusResponse` of moby/buildkit's control API
(api/services/control/control.proto). The four messages needed are declared here at run time
with descriptor_pb2 rather than generated code: the schema is small, stable on the wire, and a
generated module would pin one protobuf runtime version. Fields are numbered as upstream; those
not declared (progress groups, warnings' details) are skipped as unknown fields.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_PACKAGE = "moby.buildkit.v1"
_T = descriptor_pb2.FieldDescriptorProto
# message -> [(field, number, type, repeated, message type)]
_SCHEMA: dict[str, list[tuple[str, int, int, bool, str]]] = {
    # google.protobuf.Timestamp, declared locally: same wire form, no well-known-type import.
    "Timestamp": [("seconds", 1, _T.TYPE_INT64, False, ""), ("nanos", 2, _T.TYPE_INT32, False, "")],
    "Vertex": [
        ("digest", 1, _T.TYPE_STRING, False, ""),
        ("inputs", 2, _T.TYPE_STRING, True, ""),
        ("name", 3, _T.TYPE_STRING, False, ""),
        ("cached", 4, _T.TYPE_BOOL, False, ""),
        ("started", 5, _T.TYPE_MESSAGE, False, "Timestamp"),
        ("completed", 6, _T.TYPE_MESSAGE, False, "Timestamp"),
        ("error", 7, _T.TYPE_STRING, False, ""),
    ],
    "VertexStatus": [
        ("ID", 1, _T.TYPE_STRING, False, ""),
        ("vertex", 2, _T.TYPE_STRING, False, ""),
        ("name", 3, _T.TYPE_STRING, False, ""),
        ("current", 4, _T.TYPE_INT64, False, ""),
        ("total", 5, _T.TYPE_INT64, False, ""),
        ("timestamp", 6, _T.TYPE_MESSAGE, False, "Timestamp"),
        ("started", 7, _T.TYPE_MESSAGE, False, "Timestamp"),
        ("completed", 8, _T.TYPE_MESSAGE, False, "Timestamp"),
    ],
    "VertexLog": [
        ("vertex", 1, _T.TYPE_STRING, False, ""),
        ("timestamp", 2, _T.TYPE_MESSAGE, False, "Timestamp"),
        ("stream", 3, _T.TYPE_INT64, False, ""),
        ("msg", 4, _T.TYPE_BYTES, False, ""),
    ],
    "StatusResponse": [
        ("vertexes", 1, _T.TYPE_MESSAGE, True, "Vertex"),
        ("statuses", 2, _T.TYPE_MESSAGE, True, "VertexStatus"),
        ("logs", 3, _T.TYPE_MESSAGE, True, "VertexLog"),
    ],
}


@cache
def _status_response_class() -> Any:
    file = descriptor_pb2.FileDescriptorProto(name="docker_tutor_buildkit_status.proto", package=_PACKAGE, syntax="proto3")
    for message_name, fields in _SCHEMA.items():
        message = file.message_type.add(name=message_name)
        for name, number, kind, repeated, type_name in fields:
            message.field.add(
                name=name,
                number=number,
                type=kind,
                label=_T.LABEL_REPEATED if repeated else _T.LABEL_OPTIONAL,
                type_name=f".{_PACKAGE}.{type_name}" if type_name else None,
            )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.StatusResponse"))


@dataclass(frozen=True, slots=True)
class Vertex:
    digest: str
    name: str
    cached: bool
    started: float | None  # seconds since the epoch
    completed: float | None
    error: str


@dataclass(frozen=True, slots=True)
class VertexStatus:
    id: str
    vertex: str
    current: int
    total: int
    timestamp: float | None
    started: float | None
    completed: float | None


@dataclass(frozen=True, slots=True)
class VertexLog:
    vertex: str
    timestamp: float | None
    stream: int  # 1 stdout, 2 stderr
    data: bytes


@dataclass(frozen=True, slots=True)
class Status:
    vertexes: list[Vertex] = field(default_factory=list)
    statuses: list[VertexStatus] = field(default_factory=list)
    logs: list[VertexLog] = field(default_factory=list)


class TraceError(ValueError):
    """The engine sent a trace message that is not a StatusResponse."""


def decode(payload: str) -> Status:
    """One `moby.buildkit.trace` aux value (base64 text) -> Status."""
    try:
        message = _status_response_class().FromString(base64.b64decode(payload, validate=True))
    except Exception as exc:  # binascii.Error, protobuf's DecodeError
        raise TraceError(f"unreadable BuildKit trace message: {exc}") from exc
    return Status(
        vertexes=[
            Vertex(v.digest, v.name, v.cached, _time(v, "started"), _time(v, "completed"), v.error)
            for v in message.vertexes
        ],
        statuses=[
            VertexStatus(
                s.ID, s.vertex, s.current, s.total, _time(s, "timestamp"), _time(s, "started"), _time(s, "completed")
            )
            for s in message.statuses
        ],
        logs=[VertexLog(entry.vertex, _time(entry, "timestamp"), entry.stream, entry.msg) for entry in message.logs],
    )


def _time(message: Any, name: str) -> float | None:
    if not message.HasField(name):
        return None
    stamp = getattr(message, name)
    return stamp.seconds + stamp.nanos / 1e9
