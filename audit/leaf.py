"""The canonical leaf bytes of a stored event (format version 1, see docs/audit.md).

All integers are unsigned big-endian; lengths prefix the variable parts::

    0x01                      format version
    uint64  position          the event's position in the store (notification id)
    16 B    aggregate id      the UUID's 16 bytes
    uint64  version           the aggregate version
    uint32  n, n B            topic, UTF-8
    uint32  n, n B            stored state, exactly the bytes in the store
    uint64  recorded_at       microseconds since 1970-01-01T00:00:00Z, when it was sealed
"""

from __future__ import annotations

import struct

from audit.merkle import leaf_hash

FORMAT_VERSION = 1
HEAD = struct.Struct(">BQ16sQI")
HEAD_FIXED = struct.Struct(">BQ16sQ")
"""The fixed part of the head, without the topic's length (for callers that cache it)."""
LENGTH = struct.Struct(">I")
TIME = struct.Struct(">Q")


def leaf_bytes(
    position: int,
    aggregate_id: bytes,
    version: int,
    topic: str,
    state: bytes,
    recorded_at: int,
) -> bytes:
    encoded_topic = topic.encode()
    return b"".join(
        (
            HEAD.pack(FORMAT_VERSION, position, aggregate_id, version, len(encoded_topic)),
            encoded_topic,
            LENGTH.pack(len(state)),
            state,
            TIME.pack(recorded_at),
        )
    )


def event_leaf_hash(
    position: int,
    aggregate_id: bytes,
    version: int,
    topic: str,
    state: bytes,
    recorded_at: int,
) -> bytes:
    return leaf_hash(leaf_bytes(position, aggregate_id, version, topic, state, recorded_at))
