"""Reading stored events for projections: one query per batch, decoded like the mapper.

``EventDecoder`` gives exactly the domain events the application's mapper gives (same
classes, same attributes, same upcasting), only faster. The usual state (fields whose
values are plain, lists, or the library's ``{"_type_": ..., "_data_": ...}`` values) is
parsed by msgspec against a flat schema that reads each typed value as a small struct
tagged with its transcoding's name; dates, UUIDs and enum members msgspec decodes itself
(``TypedValues``). Any other state is parsed by orjson and walked. Either way the other
typed values are then decoded by the transcoder's own decoders, innermost first, as the
library's object hook does; topics and UUIDs are looked up once.

A reader that names the fields it reads of each class (``Fields``) gets events holding
only those: msgspec skips the rest of the stored state without building it, reads each
named field as its annotation says where that is a plain or registered type, and only the
named typed values are decoded (an event of a class with upcasters, or a state this
narrower schema refuses, is decoded whole, as above). Whatever orjson refuses (NaN,
integers beyond 64 bits, lone surrogates) and any mapper with a cipher or a compressor is
decoded by the mapper itself, so every stored event still decodes; whatever goes wrong on
the way is left to the mapper too, which then raises its own error. One difference is
left: in an object with a key twice, the last value counts, and the mapper refuses it
when an earlier value of that key is not decodable (the integrity check finds such an
edit of a stored event anyway).

``EventSource`` reads the event table straight through the read-model connection: the
events after a position, the events at given positions, and given versions of given
aggregates (the first event of an aggregate names its platform; a correction needs the
event it reverses).
"""

from __future__ import annotations

import functools
import gc
import typing
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from types import GenericAlias, UnionType
from typing import Any, NamedTuple, Union
from uuid import UUID, SafeUUID

import msgspec
import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    StoredEvent,
    Transcoding,
    UUIDAsHex,
)
from eventsourcing.utils import resolve_topic

from domain.codec import DateAsISO, EnumAsValue
from projections.db import Connection

COLUMNS = frozenset({"originator_id", "originator_version"})
"""Fields of every event stored in columns of their own, never in its state."""
VALUE_CACHE = 20_000
"""Decoded values kept for reuse, per type; a cache is emptied when it reaches this size."""
IN_CHUNK = 500
"""Values per ``IN (...)`` list."""


Fields = Callable[[type], "frozenset[str] | None"]
"""The fields of an event class a reader reads, besides ``originator_id`` and
``originator_version`` (None: every field). An event decoded for such a reader has no
other attributes: reading another one raises ``AttributeError``."""


class EventDecoder:
    def __init__(self, mapper: Any, fields: Fields | None = None) -> None:
        self.mapper = mapper
        self.fields = fields
        transcoder = mapper.transcoder
        self.fast = (
            isinstance(transcoder, JSONTranscoder)
            and getattr(mapper, "cipher", None) is None
            and getattr(mapper, "compressor", None) is None
        )
        self.decoders: dict[str, Callable[[Any], Any]] = {}
        if isinstance(transcoder, JSONTranscoder):
            self.decoders = {
                name: reused(t.decode) if immutable(t.type) else DIRECT.get(type(t), t.decode)
                for name, t in transcoder.names.items()
            }
        self.typed = TypedValues(transcoder.names if self.decoders else {}, self.decoders)
        self.classes: dict[str, tuple[type[Any], int, Read | None]] = {}
        """Each topic's class, its ``class_version``, and its narrow read (``_reader``;
        None: the whole state is decoded)."""
        self.readers: dict[str, Read] = {}
        """The narrow read of each topic read narrowly, looked up first."""
        self.uuids: dict[str, UUID] = {}
        """Ids by their stored text: ``reused(UUID)`` inline, as every event needs one (a
        function call less is about 4% of decoding a platform's events)."""
        self.schema = self.typed.schema

    def originator(self, value: Any) -> UUID:
        if type(value) is not str:  # PostgreSQL gives UUIDs, SQLite 32 hexadecimal digits
            return value if isinstance(value, UUID) else self.originator(str(value))
        oid = self.uuids.get(value)
        if oid is None:
            if len(self.uuids) >= VALUE_CACHE:
                self.uuids.clear()
            oid = self.uuids[value] = uuid_of_hex(value)
        return oid

    def decode(self, originator_id: Any, version: int, topic: str, state: bytes) -> Any:
        """The domain event stored with these columns."""
        oid = originator_id if type(originator_id) is UUID else self.originator(originator_id)
        read = self.readers.get(topic)
        if read is not None:
            event = read(oid, version, state)
            if event is not None:
                return event
        if not self.fast:
            return self.mapper.to_domain_event(StoredEvent(oid, version, topic, state))
        found = self.classes.get(topic)
        if found is None:
            found = self.classes[topic] = self._resolve(topic)
            read = found[2]
            if read is not None:  # read narrowly from now on
                self.readers[topic] = read
                event = read(oid, version, state)
                if event is not None:
                    return event
        cls, class_version, _ = found
        event_state = self._whole(state)
        if event_state is None:
            # not for orjson, or an unknown type: the mapper decodes it or raises its error
            return self.mapper.to_domain_event(StoredEvent(oid, version, topic, state))
        event_state["originator_id"] = oid
        event_state["originator_version"] = version
        if class_version != 1 or "class_version" in event_state:
            from_version = event_state.pop("class_version", 1)
            while from_version < class_version:
                getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
                from_version += 1
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", event_state)
        return event

    def _resolve(self, topic: str) -> tuple[type[Any], int, Read | None]:
        cls = resolve_topic(topic)
        class_version = getattr(cls, "class_version", 1)
        wanted = None if self.fields is None or class_version != 1 else self.fields(cls)
        if wanted is None or "class_version" in wanted:
            # (a stored ``class_version`` is the mapper's to take out and upcast by)
            return cls, class_version, None
        stored = sorted(wanted - COLUMNS)  # (the id and version are columns, not state)
        return cls, class_version, self._narrow_read(cls, stored)

    def _narrow_read(self, cls: type, names: list[str]) -> Read:
        """The read of the named fields of ``cls`` (``_reader``): each field whose
        annotation is a plain type or a registered one (or either or None) is read as
        exactly that, and its value finished (``Finish``); any other field as
        ``typed.field``, and finished by the general walk (``_general``). A stored state
        that does not fit (a field missing or of another type) is decoded whole instead."""
        hints = _hints(cls)
        fields: dict[str, Any] = {}
        finishers: list[tuple[str, Finish]] = []
        general: list[str] = []
        for name in names:
            exact = self.typed.exact(hints.get(name))
            if exact is None:
                fields[name] = typing.NotRequired[self.typed.field]
                general.append(name)
            else:
                kind, finish = exact
                fields[name] = kind
                if finish is not None:
                    finishers.append((name, finish))
        decoder = _schema_decoder(tuple(fields.items()))
        return _reader(cls, decoder, finishers, tuple(general), weakref.WeakMethod(self._general))

    def _whole(self, state: bytes) -> dict[str, Any] | None:
        """Every field of a stored state, decoded (None: the mapper must decode it).

        Whatever goes wrong on the way is left to the mapper, which decodes the state or
        raises its own error (it wraps every error as ``MapperDeserialisationError``)."""
        decoded: Any
        try:
            decoded = self._typed(self.schema.decode(state))
        except Exception:  # not a flat state of typed values (or not UTF-8): the general walk
            try:
                decoded = self._value(orjson.loads(state))
            except Exception:
                return None
        return decoded if type(decoded) is dict else None  # an event's state is an object

    def _general(self, state: dict[str, Any], names: tuple[str, ...]) -> None:
        """The named fields of a narrowly decoded state, read as ``typed.field``: their
        typed values decoded, and those not stored left out (as from the whole state)."""
        finish = self.typed.finish
        for name in names:
            if name not in state:
                continue  # not stored: the whole state would not have it either
            item = state[name]
            kind = type(item)
            if kind in finish:
                decode = finish[kind]
                item = item.data
                if decode is not None:
                    if type(item) is dict or type(item) is list:
                        item = self._value(item)
                    item = decode(item)
            elif kind is list:
                item = self._value(item)
            state[name] = item

    def _typed(self, value: dict[str, Any]) -> Any:
        """An event's state as ``schema`` decoded it: its typed values decoded."""
        finish = self.typed.finish
        for key, item in value.items():
            kind = type(item)
            if kind in finish:
                decode = finish[kind]
                data = item.data
                if decode is None:
                    value[key] = data  # decoded by msgspec already
                else:
                    if type(data) is dict or type(data) is list:
                        data = self._value(data)
                    value[key] = decode(data)
            elif kind is list:
                value[key] = self._value(item)
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return self.decoders[value["_type_"]](value["_data_"])
        return value

    def _value(self, value: Any) -> Any:
        """Typed values decoded innermost first, as the library's object hook does."""
        if type(value) is list:
            return [self._item(v) for v in value]
        decoders = self.decoders
        for key, item in value.items():
            kind = type(item)
            if kind is dict:
                data = item.get("_data_", item)
                kind = type(data)
                if len(item) == 2 and "_type_" in item and kind is not dict and kind is not list:
                    if kind is float:
                        raise NotForOrjson
                    value[key] = decoders[item["_type_"]](data)  # the usual case
                else:
                    value[key] = self._value(item)
            elif kind is list:
                value[key] = self._value(item)
            elif kind is float:
                raise NotForOrjson
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return decoders[value["_type_"]](value["_data_"])
        return value

    def _item(self, value: Any) -> Any:
        kind = type(value)
        if kind is dict or kind is list:
            return self._value(value)
        if kind is float:
            # orjson reads integers beyond 64 bits as floats: leave every number with a
            # fraction or an exponent to the standard library (no buurtkas event has one)
            raise NotForOrjson
        return value


Plain = str | int | bool | list[Any] | dict[str, Any] | None

NATIVE: dict[type[Transcoding], Callable[[Transcoding], type]] = {
    UUIDAsHex: lambda t: UUID,
    DateAsISO: lambda t: date,
    EnumAsValue: lambda t: t.type,
}
"""Transcodings whose values msgspec decodes itself, to the same value (a date of
``YYYY-MM-DD``, a UUID, an enum member by its value): anything else it refuses, and the
state is then decoded the general way. Not timestamps: msgspec reads some odd spellings
differently from ``datetime.fromisoformat`` (it rounds fractions beyond microseconds)."""


class TypedValues:
    """The schema of a typed value as the library's transcoder writes it,
    ``{"_type_": name, "_data_": data}``: one tagged struct per registered name, with the
    data decoded natively where msgspec gives the same value (``NATIVE``).

    ``field`` is the union a state's field may hold, ``schema`` the decoder of a whole
    state; ``finish`` maps each struct to what decodes its ``data`` (None: nothing, msgspec
    did). The structs and decoders are made once per set of transcodings (every reader of
    events builds a ``TypedValues``; making them costs far more than a replay's setup)."""

    def __init__(
        self, transcodings: dict[str, Transcoding], decoders: dict[str, Callable[[Any], Any]]
    ) -> None:
        kinds = tuple(
            sorted((name, _native(transcoding)) for name, transcoding in transcodings.items())
        )
        variants, self.field, self.schema = typed_schema(kinds)
        self.finish: dict[type, Callable[[Any], Any] | None] = {
            struct: None if native else decoders[name] for name, struct, native in variants
        }
        self.transcodings = transcodings
        self.variants = variants

    @functools.cached_property
    def by_type(self) -> dict[Any, tuple[Any, Finish]]:
        """Each registered type (by annotation) to how it is read, and what finishes its
        value (refusing a typed value of any other type). Made when a narrow reader first
        needs it: a reader of whole events (a replay, a request) never does."""
        structs = {name: struct for name, struct, _ in self.variants}
        # every typed value's struct, and one no stored value can match: a union, so that
        # msgspec requires the tag (a lone tagged struct reads an object without it too)
        tagged: Any = Union[(*structs.values(), Untagged)]
        return {
            transcoding.type: (tagged, Finish(structs[name], self.finish[structs[name]]))
            for name, transcoding in self.transcodings.items()
        }

    def exact(self, hint: Any) -> tuple[Any, Finish | None] | None:
        """How a field annotated ``hint`` is read exactly: its type in the narrow schema,
        and what finishes its value (None: nothing); None: not exactly (``field``)."""
        if hint in (str, int, bool):
            return hint, None
        found = self.by_type.get(hint)
        if found is not None:
            return found
        if typing.get_origin(hint) in (Union, UnionType):
            args = typing.get_args(hint)
            if len(args) == 2 and type(None) in args:
                inner = self.exact(next(a for a in args if a is not type(None)))
                if inner is not None:
                    kind, finish = inner
                    return kind | None, None if finish is None else finish._replace(optional=True)
        return None


Read = Callable[[UUID, int, bytes], Any]
"""A narrow read of one class: the event of the fields read, from its id, version and
stored state (None: the state must be decoded whole)."""

# A narrow read's parts that depend on its class and fields alone are made once per
# process: every replay and request builds a reader of its own, and making them took
# about a third of what reading narrowly saves a replay.


@functools.lru_cache(maxsize=256)
def _hints(cls: type) -> dict[str, Any]:
    """The annotations of ``cls``, resolved ({}: one does not resolve, and every field is
    then read the general way)."""
    try:
        return typing.get_type_hints(cls)
    except Exception:
        return {}


@functools.lru_cache(maxsize=256)
def _schema_decoder(fields: tuple[tuple[str, Any], ...]) -> msgspec.json.Decoder[Any]:
    """The decoder of a state's named fields, each as its type: a TypedDict, so msgspec
    makes the state's dict itself (a struct would need copying)."""
    return msgspec.json.Decoder(_typed_dict("Fields", dict(fields)))


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Any:
    return compile(source, "<narrow read>", "exec")


def _reader(
    cls: type,
    decoder: msgspec.json.Decoder[Any],
    finishers: list[tuple[str, Finish]],
    general: tuple[str, ...],
    walk: Callable[[], Callable[[dict[str, Any], tuple[str, ...]], None] | None],
) -> Read:
    """A narrow read of one class as one function, each field's finishing written out (see
    ``Finish``): the loop over the fields and a call for each cost about a quarter of
    reading an event of a few fields.

    The field names are written as the literals of their plain ``str`` (a subclass's
    ``repr`` may be anything), the values reach the code through its globals. ``walk`` is
    a weak reference to the decoder's general walk, so that a decoder is not kept alive
    by its own readers (only the cyclic collector would free it)."""
    scope: dict[str, Any] = {
        "decode": decoder.decode,
        "new": object.__new__,
        "set_state": object.__setattr__,
        "cls": cls,
        "walk": walk,
        "general": general,
        "NotExact": NotExact,
    }
    lines = ["def read(oid, version, state):", "    try:", "        f = decode(state)"]
    for number, (name, finish) in enumerate(finishers):
        key = repr(str.__str__(name))  # a plain str's repr is its literal (not a subclass's)
        scope[f"struct{number}"] = finish.struct
        scope[f"decode{number}"] = finish.decode
        lines.append(f"        value = f[{key}]")
        indent = "        "
        if finish.optional:
            lines.append(f"{indent}if value is not None:")
            indent += "    "
        lines.append(f"{indent}if type(value) is not struct{number}: raise NotExact")
        if finish.decode is None:
            lines.append(f"{indent}f[{key}] = value.data")
        else:
            lines += [
                f"{indent}data = value.data",
                f"{indent}if type(data) is dict or type(data) is list: raise NotExact",
                f"{indent}f[{key}] = decode{number}(data)",
            ]
    if general:
        lines.append("        walk()(f, general)")
    lines += [
        "    except Exception:",
        "        return None",
        "    f['originator_id'] = oid",
        "    f['originator_version'] = version",
        "    event = new(cls)",
        "    set_state(event, '__dict__', f)",
        "    return event",
    ]
    exec(_compiled("\n".join(lines)), scope)  # noqa: S102 - code made here, from field names
    read: Read = scope["read"]
    return read


class Finish(NamedTuple):
    """How the value of a field read as one typed value is finished: the struct it must be
    read as (a typed value of another type is refused), and what decodes its data (None:
    msgspec did; data holding other values, a record's, is refused too); ``optional``:
    the field may be None. Refused: the state is decoded whole."""

    struct: Any
    decode: Callable[[Any], Any] | None
    optional: bool = False


class Untagged(msgspec.Struct, tag_field="_type_", tag="", forbid_unknown_fields=True):
    """A typed value of no registered name (the empty one): never a stored value; it makes
    the typed values of a narrow field a tagged union, whose tag msgspec requires."""


_typed_dict: Any = typing.TypedDict  # (made from names known only at run time)


class NotExact(Exception):
    """A typed value of another type than the field's, or holding others: the state is
    decoded by the whole state's walk."""


def _native(transcoding: Transcoding) -> type | None:
    native = NATIVE.get(type(transcoding))
    return None if native is None else native(transcoding)


@functools.lru_cache(maxsize=16)
def typed_schema(
    kinds: tuple[tuple[str, type | None], ...],
) -> tuple[tuple[tuple[str, type, bool], ...], Any, msgspec.json.Decoder[Any]]:
    """For each transcoding's name and native type (None: none), its struct and whether
    msgspec decodes its data; the union of a field; the decoder of a whole state."""
    variants = []
    for number, (name, native) in enumerate(kinds):
        try:
            struct = typed_struct(number, name, Plain if native is None else native)
        except (TypeError, NotImplementedError):
            # an enum msgspec cannot read: values neither all str nor all int, or
            # integers beyond 64 bits
            native, struct = None, typed_struct(number, name, Plain)
        variants.append((name, struct, native is not None))
    field: Any = str | int | bool | list[Any] | None
    if variants:
        field = Union[(*(struct for _, struct, _ in variants), str, int, bool, list[Any], None)]
    return tuple(variants), field, msgspec.json.Decoder(GenericAlias(dict, (str, field)))


def typed_struct(number: int, name: str, data: Any) -> type:
    struct = msgspec.defstruct(
        f"Typed{number}",
        [("data", data)],
        tag_field="_type_",
        tag=name,
        rename={"data": "_data_"},
        forbid_unknown_fields=True,
    )
    msgspec.json.Decoder(struct)  # raises now for a type msgspec cannot read
    return struct


class NotForOrjson(Exception):
    """A stored state the standard library must decode."""


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while decoding or folding a batch.

    Neither makes reference cycles, but both leave many objects alive at once (a batch
    of events, the rows kept between batches), and the collector would scan them again
    and again. Reference counting still frees everything; the collector runs again after.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


DIRECT: dict[type[Transcoding], Callable[[Any], Any]] = {DatetimeAsISO: datetime.fromisoformat}
"""Library transcodings whose ``decode`` is one call of a built-in: called directly (every
event has a timestamp; a Python frame less for each is about 1% of a replay)."""


def uuid_of_hex(value: str) -> UUID:
    """``UUID(value)``, built directly for the 32 hexadecimal digits SQLite stores (the
    usual case: ``UUID.__init__`` checks and strips every other spelling first)."""
    if len(value) == 32 and "-" not in value:
        # ``int`` reads every other spelling of 32 characters as ``UUID`` does (which
        # strips only dashes, braces and prefixes with a colon, none of them hexadecimal)
        try:
            number = int(value, 16)
        except ValueError:
            return UUID(value)  # not hexadecimal: UUID's own error
        return uuid_of_int(number)
    return UUID(value)


_SET_INT = UUID.__dict__["int"].__set__
_SET_SAFE = UUID.__dict__["is_safe"].__set__
_UNKNOWN = SafeUUID.unknown  # (an enum member read from its class is a slow look-up)


def uuid_of_int(number: int) -> UUID:
    """``UUID(int=number)`` for a 128-bit ``number``, its slots set through their
    descriptors (about 0.5 µs, against 1.3 for ``UUID(...)``; four events in ten of a long
    read are of an aggregate not seen lately)."""
    oid = object.__new__(UUID)
    _SET_INT(oid, number)
    _SET_SAFE(oid, _UNKNOWN)
    return oid


def immutable(cls: Any) -> bool:
    """Values of ``cls`` can be shared: dates, UUIDs, enum members, frozen dataclasses."""
    if not isinstance(cls, type) or issubclass(cls, datetime):
        return False  # a datetime may carry a mutable tzinfo; and timestamps rarely repeat
    if issubclass(cls, date | UUID | Enum):
        return True
    params = getattr(cls, "__dataclass_params__", None)
    return bool(params is not None and params.frozen)


def reused(decode: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``decode``, remembering what it made of each string or integer."""
    made: dict[Any, Any] = {}

    def decode_once(data: Any) -> Any:
        kind = type(data)
        if kind is not str and kind is not int:  # not bool: True == 1
            return decode(data)
        try:
            return made[data]
        except KeyError:
            if len(made) >= VALUE_CACHE:
                made.clear()
            value = made[data] = decode(data)
            return value

    return decode_once


COLLECT_EVERY = 200_000
"""Events folded between full collections while a long catch-up keeps the collector paused."""


class PausedCollector:
    """The cyclic garbage collector paused across a long catch-up (a rebuild, a backlog),
    with a full collection every ``every`` events folded.

    Pausing it batch by batch is not enough: each time it runs again it scans what is
    still alive from the batch (its events, the rows kept between batches), and again
    as those objects age, which costs a long catch-up about a fifth of its time. Folding
    makes no reference cycles; the full collection every ``every`` events bounds what
    anything else leaves behind. A no-op where the collector is already paused.

    Those collections skip the objects alive when the catch-up began (``gc.freeze``,
    unless someone else froze objects already): the five of a signals rebuild took 0.21 s
    instead of 0.45 s. So a cycle made before and dropped during the catch-up is freed
    after it, and the objects frozen go back to the oldest generation.
    """

    def __init__(self, every: int = COLLECT_EVERY) -> None:
        self.every = every
        self.owned = False
        self.froze = False
        self.since = 0

    def __enter__(self) -> PausedCollector:
        self.owned = gc.isenabled()
        gc.disable()
        self.froze = self.owned and gc.get_freeze_count() == 0
        if self.froze:
            gc.freeze()
        return self

    def folded(self, events: int) -> None:
        self.since += events
        if self.owned and self.since >= self.every:
            gc.collect()
            self.since = 0

    def __exit__(self, *exc: object) -> None:
        if self.froze:
            gc.unfreeze()
        if self.owned:
            gc.enable()


class EventSource:
    """What runners and replays need of the event store: positions and decoded events."""

    def __init__(self, app: Any, conn: Connection, fields: Fields | None = None) -> None:
        """``fields``: what ``read`` (and ``read_at``, when asked) decodes of each class
        (all of it if None); events looked up by ``versions`` are always decoded whole."""
        self.app = app
        self.conn = conn
        self.decoder = EventDecoder(app.mapper)
        self.narrow = self.decoder if fields is None else EventDecoder(app.mapper, fields)
        self.table = app.recorder.events_table_name
        self.id_column = "rowid" if conn.dialect == "sqlite" else "notification_id"

    def head(self) -> int:
        return int(self.app.recorder.max_notification_id() or 0)

    def _select(
        self, where: str, params: list[Any], tail: str = "", *, narrow: bool = False
    ) -> list[tuple[int, Any]]:
        rows = self.conn.stream(  # on PostgreSQL, decoded while the rest is coming
            f"SELECT {self.id_column}, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM {self.table} WHERE {where} {tail}",
            params,
            binary=True,
        )
        decode = (self.narrow if narrow else self.decoder).decode
        with collector_paused():
            return [
                (int(position), decode(oid, int(version), topic, bytes(state)))
                for position, oid, version, topic, state in rows
            ]

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]:
        """Up to ``limit`` events stored after position ``after``, in order (decoded as
        far as ``fields`` says)."""
        return self._after(after, limit=limit)

    def read_range(self, after: int, upto: int) -> list[tuple[int, Any]]:
        """The events stored after position ``after`` up to ``upto``, in order (decoded as
        far as ``fields`` says)."""
        return self._after(after, upto=upto)

    def _after(
        self, after: int, *, limit: int | None = None, upto: int | None = None
    ) -> list[tuple[int, Any]]:
        where, params, tail = f"{self.id_column} > ?", [after], f"ORDER BY {self.id_column}"
        if upto is not None:
            where += f" AND {self.id_column} <= ?"
            params.append(upto)
        if limit is not None:
            tail += " LIMIT ?"
            params.append(limit)
        return self._select(where, params, tail, narrow=True)

    def read_at(self, positions: list[int], *, narrow: bool = False) -> list[tuple[int, Any]]:
        """The events stored at ``positions``, in order of position; ``narrow``: decoded as
        far as ``fields`` says (else whole)."""
        order = f"ORDER BY {self.id_column}"
        if self.conn.dialect == "postgres":  # one query, the positions as an array
            where = f"{self.id_column} = ANY(?)"
            return self._select(where, [list(positions)], order, narrow=narrow)
        events: list[tuple[int, Any]] = []
        with collector_paused():
            for start in range(0, len(positions), IN_CHUNK):
                chunk = positions[start : start + IN_CHUNK]
                marks = ", ".join("?" * len(chunk))
                where = f"{self.id_column} IN ({marks})"
                events.extend(self._select(where, chunk, order, narrow=narrow))
        return events

    def version_at(self, originator_id: UUID, position: int) -> int:
        """The version aggregate ``originator_id`` had once the events up to ``position``
        were stored (0: it did not exist yet)."""
        oid: Any = originator_id.hex if self.conn.dialect == "sqlite" else originator_id
        rows = self.conn.execute(
            f"SELECT max(originator_version) FROM {self.table} "  # noqa: S608
            f"WHERE originator_id = ? AND {self.id_column} <= ?",
            (oid, position),
        )
        return int(rows[0][0] or 0) if rows else 0

    def versions(
        self, wanted: Iterable[tuple[UUID, int]], *, narrow: bool = False
    ) -> dict[tuple[UUID, int], Any]:
        """The event of aggregate ``originator_id`` at ``version``, for each wanted pair;
        ``narrow``: decoded as far as ``fields`` says (else whole)."""
        by_version: dict[int, set[UUID]] = {}
        for originator_id, version in wanted:
            by_version.setdefault(version, set()).add(originator_id)
        sqlite = self.conn.dialect == "sqlite"  # it stores UUIDs as 32 hexadecimal digits
        found: dict[tuple[UUID, int], Any] = {}
        for version, ids in by_version.items():
            keys = sorted(ids)
            for start in range(0, len(keys), IN_CHUNK):
                chunk = [k.hex if sqlite else k for k in keys[start : start + IN_CHUNK]]
                marks = ", ".join("?" * len(chunk))
                for _, event in self._select(
                    f"originator_id IN ({marks}) AND originator_version = ?",
                    [*chunk, version],
                    narrow=narrow,
                ):
                    found[(event.originator_id, version)] = event
        return found
