"""Read-model tables, generations and tracking positions.

Every projection keeps its rows in a document table ``rm_<name>_<generation>`` with the
columns ``kind``, ``key``, ``platform`` and ``doc`` (JSON; money as integer cents). The
active generation of each projection is named in ``rm_active``; every generation's
position in the event store is in ``rm_tracking``, and the build it was made by (the
projection's version and configuration, ``Projection.build``) in ``rm_builds``. A batch
of rows and its tracking position are written in one transaction, so a crash never
counts an event twice or skips one. A rebuild fills a new generation side by side and
then swaps it in, in one transaction, so readers never see a half-built model; a
generation another build made is never folded into (the runner rebuilds it).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from projections.db import Connection, schema_change

Doc = dict[str, Any]


class ConcurrentUpdateError(RuntimeError):
    """Another runner moved the tracking position, or the generation was swapped out."""


class StaleReadModel(RuntimeError):
    """The active generation was made by another build (other code or configuration):
    folding into it would mix rows of two builds. It must be rebuilt."""

    def __init__(
        self, projection: str, built: str | None, wanted: str, generation: int = 0
    ) -> None:
        self.projection, self.built, self.wanted = projection, built, wanted
        self.generation = generation
        """The active generation, the one another build made."""
        super().__init__(
            f"{projection} was built by {built or 'an unrecorded build'}, this code is {wanted}"
        )


def made_by(build: str | None, position: int, wanted: str) -> bool:
    """Whether a generation holds the rows of build ``wanted``: recorded as its build, or
    none recorded and nothing folded yet (a runner of ``wanted`` claims it)."""
    return build == wanted or (build is None and position == 0)


def table_name(projection: str, generation: int) -> str:
    if not projection.isidentifier():
        raise ValueError(f"projection name {projection!r} is not an identifier")
    return f"rm_{projection}_{generation}"


def encode(doc: Doc) -> str:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode()


def decode(text: str) -> Doc:
    found: Doc = orjson.loads(text)
    return found


Row = tuple[str, str, str | None, str]
"""A row ready for the database: kind, key, platform, JSON."""


@dataclass
class Encoded:
    """A batch's writes ready for the database."""

    upserts: list[Row]
    deletes: list[tuple[str, str]]
    inserts: list[Row] = field(default_factory=list)
    """Rows whose keys the table is known not to hold (a rebuild's new rows): inserted
    without the check for an existing row, which costs PostgreSQL about a third of a
    small row's upsert."""


def encode_writes(
    writes: dict[tuple[str, str], tuple[str | None, Doc] | None],
    written: Container[tuple[str, str]] | None = None,
) -> Encoded:
    """``written``: holds at least every key the table has a row for (``BatchRows``);
    a row whose key it does not hold is inserted."""
    encoded = Encoded([], [])
    for k, v in writes.items():
        if v is None:
            encoded.deletes.append(k)
        else:
            rows = encoded.upserts if written is None or k in written else encoded.inserts
            rows.append((*k, v[0], encode(v[1])))
    return encoded


class ReadModelStore:
    def __init__(
        self,
        conn: Connection,
        reconnect: Callable[[], Connection] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """``reconnect`` opens another connection to the same database (for a background
        committer); without it batches are committed on ``conn``. ``env``: the event
        store's settings the connections were made from, with which another process may
        open the same database (None: it cannot)."""
        self.conn = conn
        self.reconnect = reconnect
        self.env = env

    def setup(self) -> None:
        with schema_change(self.conn):
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS rm_active ("
                "projection TEXT PRIMARY KEY, generation INTEGER NOT NULL)"
            )
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS rm_tracking ("
                "projection TEXT NOT NULL, generation INTEGER NOT NULL, position BIGINT NOT NULL, "
                "PRIMARY KEY (projection, generation))"
            )
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS rm_builds ("
                "projection TEXT NOT NULL, generation INTEGER NOT NULL, build TEXT NOT NULL, "
                "PRIMARY KEY (projection, generation))"
            )

    def prepare_rebuild(
        self, projection: str, build: str, *, resume: bool
    ) -> tuple[int, int] | None:
        """The generation a rebuild by ``build`` fills, chosen and made in one transaction
        under the schema lock, so that processes rebuilding at the same moment never
        recreate or number alike a generation another one is filling.

        ``resume``: the newest generation of ``build`` begun after the active one (a rebuild
        that was stopped, or is going on in another process) is filled on, and None is
        returned when the active generation is already of ``build`` (another process
        swapped it in: there is nothing to rebuild). Otherwise a new generation is made,
        numbered above every generation there is. A generation that was replaced is never
        swapped in again, even of the same build: so every swap activates a number higher
        than any active before, which is how a follower tells that a process started
        after it swapped in its build (``Runner.superseding``). The other inactive
        generations are dropped (the one replaced by the previous rebuild was kept until
        now for readers that were still on it). Return the generation and the active one
        it is to replace (see ``swap``)."""
        with schema_change(self.conn):
            found = self.active(projection)
            if found is None:
                raise ConcurrentUpdateError(f"{projection} has no active generation")
            active, built = found
            if resume and built == build:
                return None
            inactive = [g for g in self.generations(projection) if g != active]
            under_way = self.rebuild_under_way(projection, build) if resume else None
            resumed = None if under_way is None else under_way[0]
            generation = resumed or max([active, *inactive]) + 1
            for old in inactive:
                if old != resumed:
                    self._drop(projection, old)
            if resumed is None:
                self._new_generation(projection, generation, build)
        return generation, active

    def drop_inactive(self, projection: str) -> list[int]:
        """Drop every generation of ``projection`` but the active one (one replaced by the
        last rebuild, one a stopped rebuild left), as the next rebuild would; return them.
        Only for when no reader is still on the replaced one, nor a rebuild under way."""
        with schema_change(self.conn):
            found = self.active(projection)
            if found is None:
                return []
            dropped = [g for g in self.generations(projection) if g != found[0]]
            for old in dropped:
                self._drop(projection, old)
            return dropped

    def _doc_compression(self) -> str:
        """How PostgreSQL compresses the documents it stores out of line (a platform's
        facts, a budget's lists): lz4 where the server has it, which costs a fraction of
        the default pglz's processor time."""
        if self.conn.dialect != "postgres":
            return ""
        found = self.conn.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        return "COMPRESSION lz4" if found and found[0][0] else ""

    def _new_generation(self, projection: str, generation: int, build: str | None) -> None:
        table = table_name(projection, generation)
        self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        self.conn.execute(
            f"CREATE TABLE {table} (kind TEXT NOT NULL, key TEXT NOT NULL, platform TEXT, "
            f"doc TEXT {self._doc_compression()} NOT NULL, "
            "PRIMARY KEY (kind, key))"
        )
        # rows of no platform (a receipt's users, a budget) are found by key alone: the
        # platform index leaves them out, which spares each an index entry
        self.conn.execute(
            f"CREATE INDEX {table}_platform ON {table} (platform, kind, key) "
            "WHERE platform IS NOT NULL"
        )
        self.conn.execute(
            "DELETE FROM rm_tracking WHERE projection = ? AND generation = ?",
            (projection, generation),
        )
        self.conn.execute(
            "INSERT INTO rm_tracking (projection, generation, position) VALUES (?, ?, 0)",
            (projection, generation),
        )
        self.conn.execute(
            "DELETE FROM rm_builds WHERE projection = ? AND generation = ?",
            (projection, generation),
        )
        if build is not None:
            self.conn.execute(
                "INSERT INTO rm_builds (projection, generation, build) VALUES (?, ?, ?)",
                (projection, generation, build),
            )

    def ensure(self, projection: str, build: str | None = None) -> int:
        """The active generation, creating generation 1 on first use (see ``ensure_built``)."""
        return self.ensure_built(projection, build)[0]

    def ensure_built(self, projection: str, build: str | None = None) -> tuple[int, str | None]:
        """The active generation and the build that made it, creating generation 1 on first
        use: once, however many processes start on a new store at the same moment (the one
        that makes it holds the schema lock; the others wait for it, then find generation 1
        active). Its build is ``build``; without one (a reader making it) none is recorded
        until a runner claims the empty generation. A generation made before builds were
        recorded has none either (``None``)."""
        active = self.active(projection)
        if active is not None:
            return active
        with schema_change(self.conn):
            active = self.active(projection)
            if active is None:
                self._new_generation(projection, 1, build)
                self.conn.execute(
                    "INSERT INTO rm_active (projection, generation) VALUES (?, 1)", (projection,)
                )
                active = (1, build)
        return active

    def claim(self, projection: str, generation: int, build: str) -> str | None:
        """Record ``build`` for a generation that has none and has folded nothing yet (made
        by a reader, which knows no build); return the generation's build after."""
        with self.conn.transaction():
            self.conn.execute(
                "INSERT INTO rm_builds (projection, generation, build) "
                "SELECT projection, generation, ? FROM rm_tracking "
                "WHERE projection = ? AND generation = ? AND position = 0 "
                "ON CONFLICT (projection, generation) DO NOTHING",
                (build, projection, generation),
            )
        return self.build_of(projection, generation)

    def active(self, projection: str) -> tuple[int, str | None] | None:
        """The active generation and its build, in one query (None: there is none yet)."""
        rows = self.conn.execute(
            "SELECT a.generation, b.build FROM rm_active a LEFT JOIN rm_builds b "
            "ON b.projection = a.projection AND b.generation = a.generation "
            "WHERE a.projection = ?",
            (projection,),
        )
        return (int(rows[0][0]), rows[0][1]) if rows else None

    def active_generation(self, projection: str) -> int | None:
        rows = self.conn.execute(
            "SELECT generation FROM rm_active WHERE projection = ?", (projection,)
        )
        return int(rows[0][0]) if rows else None

    def build_of(self, projection: str, generation: int) -> str | None:
        rows = self.conn.execute(
            "SELECT build FROM rm_builds WHERE projection = ? AND generation = ?",
            (projection, generation),
        )
        return str(rows[0][0]) if rows else None

    def position(self, projection: str, generation: int) -> int:
        rows = self.conn.execute(
            "SELECT position FROM rm_tracking WHERE projection = ? AND generation = ?",
            (projection, generation),
        )
        if not rows:
            raise ConcurrentUpdateError(f"{projection} generation {generation} is gone")
        return int(rows[0][0])

    def rebuild_under_way(self, projection: str, build: str) -> tuple[int, int] | None:
        """The newest generation of ``build`` begun after the active one (a side-by-side
        rebuild, under way or stopped) and its position; None when there is none."""
        rows = self.conn.execute(
            "SELECT t.generation, t.position FROM rm_tracking t JOIN rm_builds b "
            "ON b.projection = t.projection AND b.generation = t.generation "
            "WHERE t.projection = ? AND b.build = ? AND t.generation > "
            "(SELECT generation FROM rm_active WHERE projection = ?) "
            "ORDER BY t.generation DESC LIMIT 1",
            (projection, build, projection),
        )
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    def has_generation(self, projection: str, generation: int) -> bool:
        return bool(
            self.conn.execute(
                "SELECT 1 FROM rm_tracking WHERE projection = ? AND generation = ?",
                (projection, generation),
            )
        )

    def generations(self, projection: str) -> list[int]:
        rows = self.conn.execute(
            "SELECT generation FROM rm_tracking WHERE projection = ? ORDER BY generation",
            (projection,),
        )
        return [int(r[0]) for r in rows]

    # Rows ---------------------------------------------------------------------------

    def get(self, projection: str, generation: int, kind: str, key: str) -> Doc | None:
        rows = self.conn.execute(
            f"SELECT doc FROM {table_name(projection, generation)} WHERE kind = ? AND key = ?",
            (kind, key),
        )
        return decode(rows[0][0]) if rows else None

    def get_many(
        self, projection: str, generation: int, kind: str, keys: list[str]
    ) -> dict[str, Doc]:
        table = table_name(projection, generation)
        if self.conn.dialect == "postgres":
            # One primary-key probe per key, whatever the planner believes about the table:
            # a generation being rebuilt has no statistics yet, and with ``IN (...)`` the
            # planner scanned every row of the kind for each batch of keys.
            rows = self.conn.execute(
                f"SELECT k.key, t.doc FROM unnest(?::text[]) AS k(key) CROSS JOIN LATERAL "
                f"(SELECT doc FROM {table} WHERE kind = ? AND key = k.key) AS t",
                (keys, kind),
            )
            return {key: decode(doc) for key, doc in rows}
        found: dict[str, Doc] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for key, doc in self.conn.execute(
                f"SELECT key, doc FROM {table} WHERE kind = ? AND key IN ({marks})",
                [kind, *chunk],
            ):
                found[key] = decode(doc)
        return found

    def select_platforms(
        self, projection: str, generation: int, kind: str, platforms: list[str]
    ) -> Iterator[tuple[str, str, str | None, Doc]]:
        """The rows of ``kind`` of each of ``platforms`` (one query per 500 platforms)."""
        for kind_, key, platform_, doc in self.select_platform_texts(
            projection, generation, kind, platforms
        ):
            yield kind_, key, platform_, decode(doc)

    def select_platform_texts(
        self, projection: str, generation: int, kind: str, platforms: list[str]
    ) -> Iterator[tuple[str, str, str | None, str]]:
        """``select_platforms``, each document as its stored JSON text."""
        table = table_name(projection, generation)
        for start in range(0, len(platforms), 500):
            chunk = platforms[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self.conn.execute(
                f"SELECT kind, key, platform, doc FROM {table} "
                f"WHERE kind = ? AND platform IN ({marks}) ORDER BY platform, kind, key",
                [kind, *chunk],
            )
            yield from rows

    def select(
        self,
        projection: str,
        generation: int,
        kind: str | None = None,
        platform: str | None = None,
    ) -> Iterator[tuple[str, str, str | None, Doc]]:
        clauses, params = [], []
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        if platform is not None:
            clauses.append("platform = ?")
            params.append(platform)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        # With a platform, order by the (platform, kind, key) index, not the primary key.
        order = "platform, kind, key" if platform is not None else "kind, key"
        rows = self.conn.execute(
            f"SELECT kind, key, platform, doc FROM {table_name(projection, generation)}{where} "
            f"ORDER BY {order}",
            params,
        )
        for kind_, key, platform_, doc in rows:
            yield kind_, key, platform_, decode(doc)

    def commit_batch(
        self,
        projection: str,
        generation: int,
        from_position: int,
        to_position: int,
        writes: dict[tuple[str, str], tuple[str | None, Doc] | None],
        *,
        require_active: bool,
    ) -> None:
        """Write the batch's rows and advance its tracking position, in one transaction."""
        self.commit_encoded(
            projection,
            generation,
            from_position,
            to_position,
            encode_writes(writes),
            require_active=require_active,
        )

    def commit_encoded(
        self,
        projection: str,
        generation: int,
        from_position: int,
        to_position: int,
        encoded: Encoded,
        *,
        require_active: bool,
        one_statement: bool = False,
    ) -> None:
        """``commit_batch`` of writes already encoded (``encode_writes``).

        ``one_statement``: each kind of write goes to the database in one statement, so
        that a thread committing in the background holds the interpreter lock only to
        start it (PostgreSQL always does so)."""
        table = table_name(projection, generation)
        with self.conn.transaction():
            if require_active and self.active_generation(projection) != generation:
                raise ConcurrentUpdateError(f"{projection} generation {generation} was swapped")
            moved = self.conn.execute(
                "UPDATE rm_tracking SET position = ? "
                "WHERE projection = ? AND generation = ? AND position = ? RETURNING position",
                (to_position, projection, generation, from_position),
            )
            if not moved:
                raise ConcurrentUpdateError(
                    f"{projection} generation {generation} is no longer at {from_position}"
                )
            self._upsert(table, encoded.inserts, one_statement, check=False)
            self._upsert(table, encoded.upserts, one_statement)
            self._delete(table, encoded.deletes, one_statement)

    def _upsert(
        self, table: str, rows: list[Row], one_statement: bool, *, check: bool = True
    ) -> None:
        """Write ``rows``, replacing those there are; ``check=False``: there are none."""
        if not rows:
            return
        conflict = (
            "ON CONFLICT (kind, key) DO UPDATE SET platform = excluded.platform, doc = excluded.doc"
            if check
            else ""
        )
        if self.conn.dialect == "postgres":
            # one round trip: the rows travel as four text arrays in binary (``%b``), which
            # the server takes as they are, where a JSON array of them had each document
            # escaped, and parsed again (half the committing backend's processor time)
            self.conn.execute(
                f"INSERT INTO {table} (kind, key, platform, doc) "
                "SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[]) " + conflict,
                [list(column) for column in zip(*rows, strict=True)],
            )
        elif one_statement:
            self.conn.execute(
                f"INSERT INTO {table} (kind, key, platform, doc) "
                "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
                "json_extract(value, '$[2]'), json_extract(value, '$[3]') "
                "FROM json_each(?) WHERE true " + conflict,
                (orjson.dumps(rows).decode(),),
            )
        else:
            self.conn.executemany(
                f"INSERT INTO {table} (kind, key, platform, doc) VALUES (?, ?, ?, ?) " + conflict,
                rows,
            )

    def _delete(self, table: str, keys: list[tuple[str, str]], one_statement: bool) -> None:
        if not keys:
            return
        if self.conn.dialect == "postgres":
            self.conn.execute(
                f"DELETE FROM {table} AS t USING jsonb_array_elements(?::jsonb) AS r "
                "WHERE t.kind = r->>0 AND t.key = r->>1",
                (orjson.dumps(keys).decode(),),
            )
        elif one_statement:
            self.conn.execute(
                f"DELETE FROM {table} WHERE (kind, key) IN (SELECT json_extract(value, '$[0]'), "
                "json_extract(value, '$[1]') FROM json_each(?))",
                (orjson.dumps(keys).decode(),),
            )
        else:
            self.conn.executemany(f"DELETE FROM {table} WHERE kind = ? AND key = ?", keys)

    def swap(
        self,
        projection: str,
        generation: int,
        build: str | None = None,
        replacing: int | None = None,
    ) -> int | None:
        """Make ``generation`` active; return the one it replaces.

        With ``build``, only a generation that still exists and records that build is
        swapped in; with ``replacing``, only in place of that generation (or when it is
        active already). A rebuild whose generation another process dropped (a rebuild
        started over), or after which another rebuild swapped its own in, raises
        ``ConcurrentUpdateError`` instead of activating whatever is there.
        The replaced generation is kept (readers that looked up the active generation
        just before may still be reading it) and dropped by the next rebuild.
        """
        with schema_change(self.conn):
            if build is not None and self.build_of(projection, generation) != build:
                raise ConcurrentUpdateError(
                    f"{projection} generation {generation} is gone or another build's"
                )
            old = self.active_generation(projection)
            if replacing is not None and old not in (replacing, generation):
                raise ConcurrentUpdateError(
                    f"{projection} generation {old} was swapped in after this rebuild of "
                    f"generation {generation} began"
                )
            self.conn.execute(
                "INSERT INTO rm_active (projection, generation) VALUES (?, ?) "
                "ON CONFLICT (projection) DO UPDATE SET generation = excluded.generation",
                (projection, generation),
            )
        return old

    def drop_generation(self, projection: str, generation: int) -> None:
        with schema_change(self.conn):
            self._drop(projection, generation)

    def _drop(self, projection: str, generation: int) -> None:
        # the tracking row first, the table after: the order in which a commit locks them,
        # so a commit to this generation at the same moment waits rather than deadlocks
        for table in ("rm_tracking", "rm_builds"):
            self.conn.execute(
                f"DELETE FROM {table} WHERE projection = ? AND generation = ?",
                (projection, generation),
            )
        self.conn.execute(f"DROP TABLE IF EXISTS {table_name(projection, generation)}")
