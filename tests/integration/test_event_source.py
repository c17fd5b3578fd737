"""The projections' event reader gives exactly the events the application's mapper gives."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from domain.expense import Expense
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


class TestNarrowReads:
    def test_a_reader_that_names_its_fields_gets_those_fields_of_every_event_alone(
        self, app: Buurtkas, conn: Connection
    ) -> None:
        # given: a reader of the business date of every event, and the amount of expenses
        load_demo(app)
        generate(app, 600, seed=7)
        expected = list(app.stored_events())

        def fields(cls: type) -> frozenset[str]:
            wanted = {"occurred_on"}
            if issubclass(cls, Expense.Submitted):
                wanted.add("amount")
            return frozenset(wanted)

        # when
        read = EventSource(app, conn, fields).read(0, len(expected))
        # then: the same events, each with the fields named, decoded as the mapper does;
        # a class with upcasters is read whole (its upcasters need the whole state)
        assert [p for p, _ in read] == [p for p, _ in expected]
        upcast = 0
        for (_, narrow), (_, whole) in zip(read, expected, strict=True):
            assert type(narrow) is type(whole)
            if getattr(type(whole), "class_version", 1) != 1:
                upcast += 1
                assert vars(narrow) == vars(whole)
                continue
            kept = {"originator_id", "originator_version", *fields(type(whole))}
            assert vars(narrow) == {k: v for k, v in vars(whole).items() if k in kept}
        assert upcast > 0

    def test_a_field_a_reader_did_not_name_is_not_there_to_be_read_by_mistake(
        self, app: Buurtkas, conn: Connection
    ) -> None:
        # given
        load_demo(app)
        source = EventSource(app, conn, lambda cls: frozenset({"occurred_on"}))
        # when
        _, event = next(e for e in source.read(0, 1000) if isinstance(e[1], Expense.Submitted))
        # then: reading another field fails loudly rather than giving a default
        with pytest.raises(AttributeError):
            _ = event.amount
        assert event.occurred_on is not None

    def test_a_state_the_narrow_schema_refuses_is_decoded_whole_as_the_mapper_does(
        self, app: Buurtkas
    ) -> None:
        # given: a stored state whose named field is not in the usual form (a float)
        decoder = EventDecoder(app.mapper, lambda cls: frozenset({"actor", "occurred_on"}))
        state = (
            b'{"timestamp":{"_type_":"datetime_iso","_data_":"2020-01-01T00:00:00+00:00"},'
            b'"occurred_on":{"_type_":"date_iso","_data_":"2020-01-01"},"actor":1.5,'
            b'"reason":"x"}'
        )
        oid = UUID(int=7)
        stored = StoredEvent(oid, 2, "buurtkas.expense.Rejected", state)
        # when
        event = decoder.decode(oid.hex, 2, stored.topic, state)
        # then: the mapper's event, every field of it
        assert vars(event) == vars(app.mapper.to_domain_event(stored))


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
