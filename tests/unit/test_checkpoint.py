"""Signed checkpoints: Ed25519 over a canonical text, checked with the public key only."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.checkpoint import (
    Checkpoint,
    KeyFileError,
    checkpoint_message,
    generate_key_pair,
    key_id,
    load_private_key,
    load_public_key,
    sign,
)

ROOT = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")


def test_a_signed_checkpoint_verifies_with_its_public_key_and_survives_json() -> None:
    # given
    key = Ed25519PrivateKey.generate()
    # when
    checkpoint = sign(key, 8, ROOT, "2026-11-22T12:00:00.000000Z")
    # then
    assert checkpoint.verify(key.public_key())
    assert Checkpoint.from_json(checkpoint.to_json()) == checkpoint
    assert checkpoint.key_id == key_id(key.public_key())


def test_the_signed_message_is_the_documented_text() -> None:
    # when
    message = checkpoint_message(8, ROOT, "2026-11-22T12:00:00.000000Z", "0123456789abcdef")
    # then
    assert message == (
        b"buurtkas audit checkpoint v1\ntree_size 8\nroot " + ROOT.hex().encode() + b"\n"
        b"time 2026-11-22T12:00:00.000000Z\nkey 0123456789abcdef\n"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"tree_size": 9},
        {"root_hash": bytes(32)},
        {"signed_at": "2026-11-23T12:00:00.000000Z"},
        {"signature": bytes(64)},
    ],
)
def test_a_checkpoint_with_any_field_changed_does_not_verify(change: dict[str, object]) -> None:
    # given
    key = Ed25519PrivateKey.generate()
    checkpoint = sign(key, 8, ROOT, "2026-11-22T12:00:00.000000Z")
    # when
    forged = dataclasses.replace(checkpoint, **change)  # type: ignore[arg-type]
    # then
    assert not forged.verify(key.public_key())


def test_a_checkpoint_signed_by_another_key_does_not_verify() -> None:
    # given
    checkpoint = sign(Ed25519PrivateKey.generate(), 8, ROOT, "2026-11-22T12:00:00.000000Z")
    # then
    assert not checkpoint.verify(Ed25519PrivateKey.generate().public_key())


def test_generated_key_files_load_and_belong_together(tmp_path: Path) -> None:
    # given
    private_pem, public_pem = generate_key_pair()
    (tmp_path / "k.key").write_bytes(private_pem)
    (tmp_path / "k.pub").write_bytes(public_pem)
    # when
    private_key = load_private_key(tmp_path / "k.key")
    public_key = load_public_key(tmp_path / "k.pub")
    # then
    assert key_id(private_key.public_key()) == key_id(public_key)


def test_a_file_that_is_not_an_ed25519_key_is_refused_with_its_path(tmp_path: Path) -> None:
    # given
    (tmp_path / "bad.pem").write_text("not a key")
    # then
    with pytest.raises(KeyFileError, match=r"bad\.pem"):
        load_private_key(tmp_path / "bad.pem")
    with pytest.raises(KeyFileError, match=r"bad\.pem"):
        load_public_key(tmp_path / "bad.pem")


def test_a_private_key_given_where_its_path_belongs_is_refused_without_repeating_it() -> None:
    # given: the key's text in place of the path of its file
    private_pem, _ = generate_key_pair()
    pasted = private_pem.decode()
    # when
    with pytest.raises(KeyFileError) as refused:
        load_private_key(Path(pasted))
    # then: the message says what was expected and holds no line of the key
    assert "path of the key file" in str(refused.value)
    for line in pasted.splitlines():
        assert line not in str(refused.value)
