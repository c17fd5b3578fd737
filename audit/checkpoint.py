"""Signed checkpoints (tree heads): the tree's size and root at a time, signed with Ed25519.

The signed message is UTF-8 text, one field per line, each line ending in a newline::

    buurtkas audit checkpoint v1
    tree_size 494
    root 5dc9da79...          (64 hex digits)
    time 2026-11-22T12:00:00.000000Z
    key 9f2c41d07ab35e68      (key id: the first 16 hex digits of SHA-256 of the raw public key)

The signature is over exactly those bytes. An auditor who keeps the public key can check
any checkpoint offline.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HEADER = "buurtkas audit checkpoint v1"


class KeyFileError(ValueError):
    """A key file cannot be read as the Ed25519 key it should be."""


@dataclass(frozen=True)
class Checkpoint:
    tree_size: int
    root_hash: bytes
    signed_at: str
    key_id: str
    signature: bytes

    def message(self) -> bytes:
        return checkpoint_message(self.tree_size, self.root_hash, self.signed_at, self.key_id)

    def verify(self, public_key: Ed25519PublicKey) -> bool:
        if key_id(public_key) != self.key_id:
            return False
        try:
            public_key.verify(self.signature, self.message())
        except InvalidSignature:
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "signed_at": self.signed_at,
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        return cls(
            tree_size=int(data["tree_size"]),
            root_hash=bytes.fromhex(data["root_hash"]),
            signed_at=str(data["signed_at"]),
            key_id=str(data["key_id"]),
            signature=bytes.fromhex(data["signature"]),
        )


def checkpoint_message(tree_size: int, root_hash: bytes, signed_at: str, key: str) -> bytes:
    return (
        f"{HEADER}\ntree_size {tree_size}\nroot {root_hash.hex()}\ntime {signed_at}\nkey {key}\n"
    ).encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def timestamp(moment: datetime | None = None) -> str:
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sign(
    private_key: Ed25519PrivateKey, tree_size: int, root_hash: bytes, signed_at: str
) -> Checkpoint:
    kid = key_id(private_key.public_key())
    signature = private_key.sign(checkpoint_message(tree_size, root_hash, signed_at, kid))
    return Checkpoint(tree_size, root_hash, signed_at, kid, signature)


def generate_key_pair() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as PEM: (private PKCS#8, public SubjectPublicKeyInfo)."""
    private_key = Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def load_private_key(path: Path) -> Ed25519PrivateKey:
    if "-----BEGIN" in str(path):
        # A key pasted where its file's path belongs: refused without repeating it.
        raise KeyFileError("the path of the key file was expected, not the key itself")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise KeyFileError(f"{path}: not a readable PEM private key ({error})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as error:
        raise KeyFileError(f"{path}: not a readable PEM public key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: not an Ed25519 public key")
    return key
