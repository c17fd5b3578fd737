"""The projections' event reader gives exactly the events the application's mapper gives."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from domain.values import Role
from projections.db import STREAM_CHUNK, Connection, connect
from projections.events import EventDecoder, EventSource
from service.application import Buurtkas
from service.demo import load_demo
from service.fixtures import d
from service.synthetic import generate


@pytest.fixture
def conn(app: Buurtkas) -> Iterator[Connection]:
    connection = connect(app.store_env)
    yield connection
    connection.close()


def same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and vars(a) == vars(b)


class TestEventSource:
    def test_every_stored_event_reads_as_the_mapper_decodes_it(
        self, app: Buurtkas, conn: Connection
    ) -> None:
        # given
        load_demo(app)
        generate(app, 1500, seed=3)
        expected = list(app.stored_events())
        # when
        source = EventSource(app, conn)
        read: list[tuple[int, Any]] = []
        while batch := source.read(read[-1][0] if read else 0, 97):
            read.extend(batch)
        # then
        assert [p for p, _ in read] == [p for p, _ in expected]
        assert all(same(a, b) for (_, a), (_, b) in zip(read, expected, strict=True))
        assert source.head() == expected[-1][0]

    def test_a_read_longer_than_a_streamed_chunk_gives_every_event_in_order(
        self, app: Buurtkas, conn: Connection
    ) -> None:
        # given: more events than PostgreSQL sends in one chunk of a streamed result
        load_demo(app)
        generate(app, 1500, seed=5)
        expected = list(app.stored_events())
        assert len(expected) > 2 * STREAM_CHUNK
        source = EventSource(app, conn)
        # when
        read = source.read(0, len(expected))
        at = source.read_at([p for p, _ in expected][1::2])
        # then
        assert [p for p, _ in read] == [p for p, _ in expected]
        assert all(same(a, b) for (_, a), (_, b) in zip(read, expected, strict=True))
        assert [p for p, _ in at] == [p for p, _ in expected][1::2]
        assert all(same(a, b) for (_, a), (_, b) in zip(at, expected[1::2], strict=True))

    def test_events_at_positions_and_versions_of_aggregates_are_read_directly(
        self, app: Buurtkas, conn: Connection
    ) -> None:
        # given
        load_demo(app)
        stored = dict(app.stored_events())
        wanted = sorted(stored)[3::7]
        source = EventSource(app, conn)
        # when
        at = source.read_at(wanted)
        versions = source.versions(
            (stored[p].originator_id, stored[p].originator_version) for p in wanted
        )
        # then
        assert [p for p, _ in at] == wanted
        assert all(same(e, stored[p]) for p, e in at)
        assert len(versions) == len(wanted)
        for p in wanted:
            event = stored[p]
            assert same(versions[(event.originator_id, event.originator_version)], event)


class TestEventDecoder:
    def stored(self, app: Buurtkas, state: bytes) -> StoredEvent:
        (_, first), *_ = app.stored_events()
        return StoredEvent(first.originator_id, 2, "buurtkas.platform.MemberJoined", state)

    @pytest.mark.parametrize(
        "extra",
        [
            b'"score":NaN',
            b'"big":123456789012345678901234567890',
            b'"odd":"\\ud800"',
            b'"nested":{"on":{"_type_":"date_iso","_data_":"2019-03-02"},"n":[1,{"k":null}]}',
            b'"ratio":0.5',
        ],
        ids=["nan", "big-integer", "lone-surrogate", "nested-object", "float"],
    )
    def test_a_state_outside_the_usual_schema_decodes_as_the_mapper_decodes_it(
        self, app: Buurtkas, extra: bytes
    ) -> None:
        # given a stored state outside the flat schema (some only the standard library reads)
        load_demo(app)
        encoded = app.mapper.transcoder.encode(
            {
                "timestamp": datetime(2019, 3, 2, 9, 30, tzinfo=UTC),
                "occurred_on": d("2019-03-02"),
                "actor": "official",
                "person": "Chair",
                "role": Role.CHAIR,
            }
        )
        stored = self.stored(app, encoded[:-1] + b"," + extra + b"}")
        # when
        event = EventDecoder(app.mapper).decode(
            stored.originator_id, stored.originator_version, stored.topic, stored.state
        )
        # then
        expected = app.mapper.to_domain_event(stored)
        assert type(event) is type(expected)
        assert repr(vars(event)) == repr(vars(expected))  # NaN != NaN, so compare the text
