"""The projections' event reader gives exactly the events the application's mapper gives."""

from __future__ import annotations

import dataclasses
import gc
import re
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent

from domain.codec import EnumAsValue
from domain.expense import Expense
from domain.money import Money
from domain.values import PaymentMethod, Role
from projections.db import STREAM_CHUNK, Connection, connect
from projections.events import EventDecoder, EventSource, uuid_of_hex
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

    def test_a_reader_naming_every_field_reads_each_as_its_annotation_says_as_the_mapper(
        self, app: Buurtkas, conn: Connection
    ) -> None:
        # given: a reader that names every field of every class, so that each annotated
        # field (plain, registered, optional, lists and records) goes through its schema
        load_demo(app)
        generate(app, 600, seed=11)
        expected = list(app.stored_events())

        def fields(cls: type) -> frozenset[str]:
            return frozenset(f.name for f in dataclasses.fields(cls))

        source = EventSource(app, conn, fields)
        whole = source.narrow._whole
        decoded_whole: list[bytes] = []

        def counted(state: bytes) -> dict[str, Any] | None:
            decoded_whole.append(state)
            return whole(state)

        source.narrow._whole = counted  # type: ignore[method-assign]
        # when
        read = source.read(0, len(expected))
        # then: only the events of classes with upcasters were decoded whole
        upcast = [e for _, e in expected if getattr(type(e), "class_version", 1) != 1]
        assert len(decoded_whole) == len(upcast)
        # and every event equals the mapper's, value for value and type for type
        assert len(read) == len(expected)
        for (_, narrow), (_, whole) in zip(read, expected, strict=True):
            assert type(narrow) is type(whole)
            assert vars(narrow) == vars(whole)
            assert {k: type(v) for k, v in vars(narrow).items()} == {
                k: type(v) for k, v in vars(whole).items()
            }

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

    @pytest.mark.parametrize("stored_version", [b"1", b"null", b'"x"', b"0"])
    def test_a_reader_naming_class_version_gets_the_whole_event_as_the_mapper_gives_it(
        self, app: Buurtkas, stored_version: bytes
    ) -> None:
        # given: a state that stores a class version, and a reader that names it
        decoder = EventDecoder(app.mapper, lambda cls: frozenset({"actor", "class_version"}))
        state = (
            b'{"timestamp":{"_type_":"datetime_iso","_data_":"2020-01-01T00:00:00+00:00"},'
            b'"occurred_on":{"_type_":"date_iso","_data_":"2020-01-01"},"actor":"a",'
            b'"reason":"x","class_version":' + stored_version + b"}"
        )
        oid = UUID(int=7)
        stored = StoredEvent(oid, 2, "buurtkas.expense.Rejected", state)
        # when
        try:
            expected: Any = app.mapper.to_domain_event(stored)
        except Exception as error:  # the mapper's own refusal is the expectation
            expected = error
        # then: the mapper's event (the version taken out), or its refusal
        if isinstance(expected, Exception):
            with pytest.raises(type(expected)):
                decoder.decode(oid.hex, 2, stored.topic, state)
        else:
            assert vars(decoder.decode(oid.hex, 2, stored.topic, state)) == vars(expected)

    def test_field_names_of_a_str_subclass_read_as_their_plain_names(self, app: Buurtkas) -> None:
        # given: a reader naming its fields by members of a str enum, whose repr is no literal
        class Field(StrEnum):
            ACTOR = "actor"
            OCCURRED_ON = "occurred_on"

        decoder = EventDecoder(app.mapper, lambda cls: frozenset(Field))
        state = (
            b'{"timestamp":{"_type_":"datetime_iso","_data_":"2020-01-01T00:00:00+00:00"},'
            b'"occurred_on":{"_type_":"date_iso","_data_":"2020-01-01"},"actor":"a",'
            b'"reason":"x"}'
        )
        oid = UUID(int=7)
        # when
        event = decoder.decode(oid.hex, 2, "buurtkas.expense.Rejected", state)
        # then
        assert vars(event) == {
            "actor": "a",
            "occurred_on": d("2020-01-01"),
            "originator_id": oid,
            "originator_version": 2,
        }

    def test_a_decoder_is_freed_without_the_cyclic_collector(
        self, app: Buurtkas, conn: Connection
    ) -> None:
        # given: a narrow reader that has read events of every class (its read functions
        # made, some with fields read the general way)
        load_demo(app)
        source = EventSource(app, conn, lambda cls: frozenset({"occurred_on", "members"}))
        source.read(0, 1000)
        decoder = weakref.ref(source.narrow)
        # when: it is let go of while the collector does not run
        gc.disable()
        try:
            del source
            # then
            assert decoder() is None
        finally:
            gc.enable()


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

    @pytest.mark.parametrize(
        "field",
        [
            b'"occurred_on":{"_type_":"date_iso","_data_":"20190302"}',
            b'"occurred_on":{"_type_":"date_iso","_data_":"2019-W09-6"}',
            b'"timestamp":{"_type_":"datetime_iso","_data_":"2019-03-02T09:30:00.1234567+00:00"}',
            b'"timestamp":{"_type_":"datetime_iso","_data_":"2019-03-02 09:30:00Z"}',
            b'"payment_method":{"_type_":"payment_method","_data_":"nobody"}',
            b'"payment_method":{"_type_":"payment_method","_data_":7}',
            b'"ref":{"_type_":"uuid_hex","_data_":"{12345678-1234-5678-1234-567812345678}"}',
            b'"ref":{"_type_":"uuid_hex","_data_":"12345678123456781234567812345678"}',
            b'"ref":{"_type_":"no_such_type","_data_":"x"}',
            b'"ref":{"_type_":"date_iso","_data_":"2019-03-02","extra":1}',
            b'"ref":{"_type_":"uuid_hex","_data_":5}',
            b'"ref":{"_type_":"decimal_str","_data_":"abc"}',
            b'"deep":' + b"[" * 340 + b"]" * 340,
            b'"payment_method":"bank"',
            b'"category":5',
            b'"category":null',
            b'"occurred_on":null',
            b'"occurred_on":{"_data_":"2019-03-02"}',
            b'"timestamp":{"_data_":"2019-03-02T09:30:00+00:00"}',
            b'"payment_method":{"_data_":"bank"}',
            b'"payment_method":{"_type_":"date_iso","_data_":"2019-03-02"}',
            b'"amount":{"_data_":500}',
            b'"platform_id":{"_type_":"uuid_hex"}',
        ],
        ids=[
            "basic-date",
            "week-date",
            "seven-fraction-digits",
            "space-and-z",
            "not-a-member",
            "member-of-wrong-type",
            "braced-uuid",
            "hex-uuid",
            "unknown-type",
            "extra-key",
            "uuid-of-a-number",
            "decimal-of-letters",
            "deeply-nested",
            "untyped-member",
            "number-for-text",
            "null-for-text",
            "null-for-date",
            "date-without-its-type",
            "timestamp-without-its-type",
            "member-without-its-type",
            "typed-value-of-another-type",
            "money-without-its-type",
            "typed-value-without-data",
        ],
    )
    @pytest.mark.parametrize("narrow", [False, True], ids=["whole", "narrow"])
    def test_a_typed_value_msgspec_reads_otherwise_or_not_at_all_decodes_as_the_mapper_does(
        self, app: Buurtkas, field: bytes, narrow: bool
    ) -> None:
        # given: a typed value spelled as the transcoder never writes it, which the standard
        # library reads (or refuses) differently from msgspec
        load_demo(app)
        plain = {
            "timestamp": datetime(2019, 3, 2, 9, 30, tzinfo=UTC),
            "occurred_on": d("2019-03-02"),
            "actor": "official",
            "platform_id": UUID(int=5),
            "amount": Money(500),
            "category": "Chair",
            "payment_method": PaymentMethod.BANK,
        }
        name = field.split(b'"')[1].decode()
        encoded = app.mapper.transcoder.encode({k: v for k, v in plain.items() if k != name})
        oid = next(iter(app.stored_events()))[1].originator_id
        stored = StoredEvent(oid, 2, Expense.Paid.TOPIC, encoded[:-1] + b"," + field + b"}")
        fields = (lambda cls: frozenset({name, "actor"})) if narrow else None
        # when
        try:
            expected: Any = app.mapper.to_domain_event(stored)
        except Exception as error:  # the mapper's own refusal is the expectation
            expected = error
        decoder = EventDecoder(app.mapper, fields)
        # then: the same event, or the same refusal
        if isinstance(expected, Exception):
            with pytest.raises(type(expected)):
                decoder.decode(UUID(str(stored.originator_id)).hex, 2, stored.topic, stored.state)
            return
        event = decoder.decode(UUID(str(stored.originator_id)).hex, 2, stored.topic, stored.state)
        assert type(event) is type(expected)
        assert getattr(type(event), "class_version", 1) == 1  # (read narrowly when asked)
        read = {name, "actor", "originator_id", "originator_version"} if narrow else vars(expected)
        # (a narrow read may give more: a class with upcasters is decoded whole)
        assert repr({k: vars(event).get(k) for k in read}) == repr(
            {k: vars(expected).get(k) for k in read}
        )

    def test_an_id_stored_as_hexadecimal_digits_reads_as_the_uuid_it_spells(self) -> None:
        # given: ids as SQLite stores them, and spellings UUID() reads or refuses otherwise
        ids = [UUID(int=n) for n in (0, 1, 2**64 + 5, 2**128 - 1)]
        odd = ["+" + "0" * 31, "g" * 32, "0" * 31, "٣" * 32, "-" + "0" * 31, "-" + "1" * 31]
        odd += [" " + "f" * 31, "0x" + "f" * 30, "{" + "0" * 30 + "}", "a_" * 15 + "ab", "A" * 32]
        # when / then
        for oid in ids:
            made = uuid_of_hex(oid.hex)
            assert made == oid
            assert hash(made) == hash(oid)
            assert made.is_safe is oid.is_safe
            assert str(made) == str(oid)
            assert made.version == oid.version
        for text in odd:
            try:
                expected: Any = UUID(text)
            except ValueError as error:
                with pytest.raises(ValueError, match=re.escape(str(error))):
                    uuid_of_hex(text)
            else:
                assert uuid_of_hex(text) == expected

    @pytest.mark.parametrize(
        "state",
        [b"5", b"null", b'"x"', b"[]", b'{"_type_":"date_iso","_data_":"2019-03-02"}'],
        ids=["number", "null", "string", "list", "typed-value"],
    )
    def test_a_state_that_is_not_an_object_is_refused_as_the_mapper_refuses_it(
        self, app: Buurtkas, state: bytes
    ) -> None:
        # given: a stored state that is not a JSON object of fields
        load_demo(app)
        stored = self.stored(app, state)
        with pytest.raises(Exception) as refused:  # noqa: PT011 - whatever the mapper raises
            app.mapper.to_domain_event(stored)
        # when / then: the reader raises the same
        with pytest.raises(type(refused.value)):
            EventDecoder(app.mapper).decode(
                UUID(str(stored.originator_id)).hex, 2, stored.topic, stored.state
            )

    def test_an_enum_msgspec_cannot_read_is_decoded_by_its_transcoding(self) -> None:
        # given: a transcoder with an enum whose values msgspec does not read natively
        Huge = Enum("Huge", {"BIG": 2**63, "SMALL": 1})  # noqa: N806
        transcoder = JSONTranscoder()
        transcoder.register(EnumAsValue(Huge, "huge"))
        mapper: Mapper[UUID] = Mapper(transcoder=transcoder)
        state = b'{"size":{"_type_":"huge","_data_":9223372036854775808}}'
        # when
        decoder = EventDecoder(mapper)
        # then
        assert decoder._whole(state) == {"size": Huge.BIG}
