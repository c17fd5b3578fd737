"""Map a database URL to the event store configuration of the eventsourcing library."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse


class DatabaseUrlError(ValueError):
    """The database URL cannot be used."""


def persistence_env(database_url: str, *, create_tables: bool = True) -> dict[str, str]:
    """The library environment for ``database_url``.

    With ``create_tables`` false the store's tables are taken as they are (on PostgreSQL,
    a service role that does not own them cannot and should not create them).

    ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, ``sqlite:///:memory:``
    and ``postgresql://user:password@host:port/dbname[?schema=name]`` are understood.
    """
    parsed = urlparse(database_url)
    if parsed.scheme == "sqlite":
        path = database_url[len("sqlite:///") :] if database_url.startswith("sqlite:///") else ""
        if not path:
            raise DatabaseUrlError("BUURTKAS_DATABASE_URL: sqlite URLs look like sqlite:///PATH")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "CREATE_TABLE": "y" if create_tables else "n",
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "APPLICATION_RECORDER_TOPIC": "audit.recorders:SealingSQLiteApplicationRecorder",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    if parsed.scheme in ("postgresql", "postgres"):
        dbname = parsed.path.lstrip("/")
        if not dbname:
            raise DatabaseUrlError("BUURTKAS_DATABASE_URL: a postgresql URL needs a database name")
        env = {
            "CREATE_TABLE": "y" if create_tables else "n",
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "APPLICATION_RECORDER_TOPIC": "audit.recorders:SealingPostgresApplicationRecorder",
            "POSTGRES_DBNAME": unquote(dbname),
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_LOCK_TIMEOUT": "5",
            # Never on: it drops exactly-once tracking and lets concurrent writers
            # interleave positions (and the library would read it from the environment).
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        }
        schema = parse_qs(parsed.query).get("schema")
        if schema:
            env["POSTGRES_SCHEMA"] = schema[0]
        return env
    raise DatabaseUrlError(
        f"BUURTKAS_DATABASE_URL: unsupported scheme {parsed.scheme!r} (use sqlite or postgresql)"
    )


def sqlite_path(database_url: str) -> str | None:
    """The file of a ``sqlite:///PATH`` URL (None: not SQLite, or in memory)."""
    if not database_url.startswith("sqlite:///"):
        return None
    path = database_url[len("sqlite:///") :]
    return None if path in ("", ":memory:") else path


def require_sqlite_file(database_url: str) -> None:
    """Refused unless a SQLite URL names a file that exists (nothing is made on the way)."""
    path = sqlite_path(database_url)
    if path is not None and not Path(path).is_file():
        raise DatabaseUrlError(
            f"BUURTKAS_DATABASE_URL: no event store at {path} (buurtkas demo or buurtkas "
            "generate makes one)"
        )
