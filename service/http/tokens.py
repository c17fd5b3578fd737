"""Bearer tokens, stored only as SHA-256 hashes in the event store's database.

A token is shown once, when it is made; the table keeps its hash, an id to name it by,
the subject recorded as the actor of every event it causes, its role and (for a
treasurer) its platform.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from uuid import UUID

from projections.db import Connection, schema_change
from service.http.policy import PLATFORM_BOUND, Principal, Role

TABLE = "http_tokens"
PREFIX = "bkt_"
_SUBJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,99}$")


class TokenError(ValueError):
    """A token cannot be made as asked; the message names the option."""


def setup(conn: Connection) -> None:
    with schema_change(conn):
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} ("
            "token_hash TEXT PRIMARY KEY, token_id TEXT NOT NULL UNIQUE, subject TEXT NOT NULL, "
            "role TEXT NOT NULL, platform_id TEXT, created_at TEXT NOT NULL, revoked_at TEXT)"
        )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    conn: Connection,
    role: Role,
    *,
    platform_id: UUID | None = None,
    subject: str | None = None,
) -> tuple[str, Principal]:
    """Make a token; return it (the only time it exists in clear) and whom it speaks for."""
    if role in PLATFORM_BOUND and platform_id is None:
        raise TokenError(f"--platform: a {role.value} token needs the platform it serves")
    if role not in PLATFORM_BOUND and platform_id is not None:
        raise TokenError(f"--platform: a {role.value} token is not bound to one platform")
    token_id = secrets.token_hex(6)
    subject = subject or f"{role.value}:{token_id}"
    if not _SUBJECT.fullmatch(subject):
        raise TokenError(
            "--subject: 1 to 100 letters, digits and . _ @ : + - (starting with a letter or digit)"
        )
    token = PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        f"INSERT INTO {TABLE} (token_hash, token_id, subject, role, platform_id, created_at) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            token_hash(token),
            token_id,
            subject,
            role.value,
            str(platform_id) if platform_id else None,
            datetime.now(UTC).isoformat(timespec="seconds"),
        ),
    )
    return token, Principal(token_id, subject, role, platform_id)


def lookup(conn: Connection, token: str) -> Principal | None:
    """Whom a presented token speaks for, or None when it is unknown or revoked."""
    rows = conn.execute(
        f"SELECT token_id, subject, role, platform_id FROM {TABLE} "  # noqa: S608
        "WHERE token_hash = ? AND revoked_at IS NULL",
        (token_hash(token),),
    )
    if not rows:
        return None
    token_id, subject, role, platform_id = rows[0]
    return Principal(
        str(token_id), str(subject), Role(role), UUID(platform_id) if platform_id else None
    )


def listing(conn: Connection) -> list[dict[str, str | None]]:
    """Every token by id, oldest first (then by subject): whom it speaks for and whether
    it was revoked (never its hash)."""
    rows = conn.execute(
        f"SELECT token_id, subject, role, platform_id, created_at, revoked_at FROM {TABLE} "  # noqa: S608
        "ORDER BY created_at, subject, token_id"
    )
    names = ("token_id", "subject", "role", "platform_id", "created_at", "revoked_at")
    return [dict(zip(names, row, strict=True)) for row in rows]


def revoke(conn: Connection, token_id: str) -> str:
    """Revoke a token by its id; returns when it was revoked (earlier, if it already was)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with conn.transaction():
        rows = conn.execute(
            f"SELECT revoked_at FROM {TABLE} WHERE token_id = ?",  # noqa: S608
            (token_id,),
        )
        if not rows:
            raise TokenError(f"TOKEN_ID: no token with id {token_id!r} (see `buurtkas token list`)")
        if rows[0][0] is not None:
            return str(rows[0][0])
        conn.execute(
            f"UPDATE {TABLE} SET revoked_at = ? WHERE token_id = ?",  # noqa: S608
            (now, token_id),
        )
    return now
