#!/usr/bin/env python3
"""Verify a buurtkas audit bundle offline.

    python scripts/verify_bundle.py BUNDLE_DIR --public-key buurtkas-audit.pub
        [--public-key OLDER_KEY.pub ...] [--checkpoint KEPT.json ...] [--require-complete]

Needs only the Python standard library and ``cryptography``; it shares no code with
buurtkas on purpose, so that an auditor can read all of it. It checks:

1. every checkpoint's Ed25519 signature, with the public keys the auditor holds (after a
   key was replaced, the retired one too: each ``--public-key`` given is tried by its
   key id);
2. every consistency proof between consecutive checkpoints (RFC 9162 2.1.4.2), and that
   every checkpoint the auditor kept (``--checkpoint``) is in that history;
3. every event's leaf hash, recomputed from its exact stored bytes (docs/audit.md), and
   its readable ``state`` equal to those bytes;
4. positions and leaf indices strictly increasing, all inside the checkpoint;
5. when the bundle holds every leaf of the checkpoint, the root rebuilt from them equals
   the checkpoint's (the bundle is then the whole log); otherwise every event's inclusion
   proof (RFC 9162 2.1.3.2), and it says that a selection proves no event missing. Whether
   the bundle is complete is decided from its events, never taken from its manifest; a
   manifest that calls an incomplete bundle the whole store fails, and so does any
   incomplete bundle with ``--require-complete``.

Every file is read strictly: a JSON object with a key twice, a number given as true or
false, an id or base64 text in other than its canonical form fails the bundle. Prints
each check and exits 0 when the bundle is intact, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import struct
import sys
import uuid
from pathlib import Path
from typing import Any, TypeGuard

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "buurtkas-audit-bundle/1"


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def event_leaf(event: dict[str, Any]) -> bytes:
    """The canonical leaf bytes, format version 1 (docs/audit.md)."""
    topic = event["topic"].encode()
    state = base64.b64decode(event["state_base64"], validate=True)
    return b"".join(
        (
            struct.pack(
                ">BQ16sQI",
                1,
                event["position"],
                uuid.UUID(event["aggregate_id"]).bytes,
                event["version"],
                len(topic),
            ),
            topic,
            struct.pack(">I", len(state)),
            state,
            struct.pack(">Q", event["recorded_at"]),
        )
    )


def root_of(leaves: list[bytes]) -> bytes:
    """MTH of RFC 6962 2.1, iteratively: merge equal-height subtrees left to right."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    stack: list[tuple[int, bytes]] = []
    for leaf in leaves:
        height, h = 0, leaf
        while stack and stack[-1][0] == height:
            h = node_hash(stack.pop()[1], h)
            height += 1
        stack.append((height, h))
    h = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        h = node_hash(left, h)
    return h


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


EMPTY_ROOT = hashlib.sha256(b"").digest()


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def checkpoint_message(cp: dict[str, Any]) -> bytes:
    return (
        "buurtkas audit checkpoint v1\n"
        f"tree_size {cp['tree_size']}\n"
        f"root {cp['root_hash']}\n"
        f"time {cp['signed_at']}\n"
        f"key {cp['key_id']}\n"
    ).encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signature_holds(cp: dict[str, Any], public_key: Ed25519PublicKey | None) -> bool:
    if public_key is None or cp.get("key_id") != key_id(public_key):
        return False
    try:
        public_key.verify(bytes.fromhex(cp["signature"]), checkpoint_message(cp))
    except (InvalidSignature, ValueError):
        return False
    return True


class Verifier:
    def __init__(self) -> None:
        self.failures = 0

    def check(self, ok: bool, what: str) -> bool:
        print(f"[{'ok' if ok else 'FAIL'}] {what}")
        if not ok:
            self.failures += 1
        return ok


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (readers disagree on which of two
    values counts, so a key given twice is refused)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key!r} is given twice")
        found[key] = value
    return found


def strict_json(text: bytes | str) -> Any:
    return json.loads(text, object_pairs_hook=unique_keys)


def read_json(path: Path) -> Any:
    return strict_json(path.read_bytes())


def read_lines(path: Path) -> list[dict[str, Any]]:
    """One JSON object per line. Lines end at a line feed only: a text value may hold any
    other line separator (U+2028, say) as it is."""
    if not path.exists():
        return []
    return [strict_json(line) for line in path.read_bytes().split(b"\n") if line.strip()]


def whole_number(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def canonical(event: dict[str, Any]) -> bool:
    """Whether the event's fields are in the one form the export writes them in."""
    aggregate_id, encoded = event.get("aggregate_id"), event.get("state_base64")
    try:
        state = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else None
        same_id = isinstance(aggregate_id, str) and str(uuid.UUID(aggregate_id)) == aggregate_id
    except ValueError:
        return False
    return (
        all(whole_number(event.get(k)) for k in ("position", "version", "recorded_at"))
        and same_id
        and isinstance(event.get("topic"), str)
        and state is not None
        and base64.b64encode(state).decode() == encoded
    )


def readable_state_matches(event: dict[str, Any]) -> bool:
    """Whether the readable ``state`` is what the stored bytes say (null when they are not
    JSON): an auditor reads amounts there."""
    try:
        stored = base64.b64decode(event["state_base64"], validate=True)
        parsed: Any = json.loads(stored, parse_constant=_refuse)
    except (ValueError, TypeError, KeyError):
        parsed = None
    return same_json(event.get("state"), parsed)


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON: ``true`` is not ``1``, nor ``1.0`` ``1``."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def verify(
    bundle: Path,
    public_keys: list[Ed25519PublicKey],
    kept: list[dict[str, Any]] | None = None,
    require_complete: bool = False,
) -> int:
    v = Verifier()
    keys = {key_id(k): k for k in public_keys}
    manifest = read_json(bundle / "manifest.json")
    v.check(manifest.get("format") == FORMAT, f"bundle format is {FORMAT}")
    latest = read_json(bundle / "checkpoint.json")
    size, root = int(latest["tree_size"]), bytes.fromhex(latest["root_hash"])
    v.check(
        signature_holds(latest, keys.get(str(latest.get("key_id")))),
        f"checkpoint (size {size}, {latest['signed_at']}) is signed by a key you gave "
        f"({', '.join(sorted(keys))})",
    )
    v.check(manifest.get("root_hash") == latest["root_hash"], "manifest names the same root")
    history = read_json(bundle / "checkpoints.json")
    check_history(v, history, latest, keys)
    for cp in kept or []:
        held = [e["checkpoint"] for e in history if e["checkpoint"] == cp]
        v.check(
            bool(held) and signature_holds(cp, keys.get(str(cp.get("key_id")))),
            f"the checkpoint you kept (size {cp.get('tree_size')}, {cp.get('signed_at')}) is "
            "signed and in the history, so the log grew from it",
        )
    events = read_lines(bundle / "events.ndjson")
    v.check(len(events) == manifest.get("events"), f"{len(events)} events, as the manifest says")
    sealed, leaves = check_events(v, events, size)
    complete = [e["leaf_index"] for e in sealed] == list(range(size))
    if complete:
        v.check(root_of(leaves) == root, "the root rebuilt from every leaf equals the checkpoint's")
        print(f"[ok] the bundle holds every leaf 0..{size - 1}: the checkpoint's whole log")
    else:
        check_inclusion(v, bundle, sealed, leaves, latest)
        claims_all = manifest.get("scope") != "platform" or manifest.get("platform") is None
        v.check(
            not claims_all and not require_complete,
            f"the bundle holds {len(sealed)} of the checkpoint's {size} leaves: a selection "
            f"({manifest.get('scope')}: {manifest.get('platform')}); each is proven in the "
            "log, none is proven missing"
            + (
                " (the manifest calls it the whole store)"
                if claims_all
                else " (--require-complete)"
                if require_complete
                else ""
            ),
        )
    failed_checks = f"bundle NOT intact: {v.failures} check(s) failed"
    print("bundle intact" if v.failures == 0 else failed_checks)
    return 0 if v.failures == 0 else 1


def check_history(
    v: Verifier,
    history: list[dict[str, Any]],
    latest: dict[str, Any],
    keys: dict[str, Ed25519PublicKey],
) -> None:
    """Signatures by the keys given, and consistency from each checkpoint to the next."""
    previous: dict[str, Any] | None = None
    bad_signatures = bad_consistency = 0
    unknown: list[str] = []
    for entry in history:
        cp = entry["checkpoint"]
        if cp.get("key_id") not in keys:
            unknown.append(str(cp.get("key_id")))
        elif not signature_holds(cp, keys[cp["key_id"]]):
            bad_signatures += 1
        given = entry.get("consistency_from_previous")
        if previous is not None and given is None:
            bad_consistency += 1
            print(f"  no consistency proof for the checkpoint of {cp['signed_at']}")
        elif previous is not None:
            proof = [bytes.fromhex(h) for h in given or []]
            if not verify_consistency(
                int(previous["tree_size"]),
                int(cp["tree_size"]),
                bytes.fromhex(previous["root_hash"]),
                bytes.fromhex(cp["root_hash"]),
                proof,
            ):
                bad_consistency += 1
                print(
                    f"  checkpoint of {cp['signed_at']} (size {cp['tree_size']}) is not an "
                    f"extension of the one of {previous['signed_at']}"
                )
        previous = cp
    good = len(history) - len(unknown) - bad_signatures
    v.check(
        bad_signatures == 0 and not unknown,
        f"{good} of {len(history)} checkpoint(s) in the history carry valid signatures of "
        "the keys you gave"
        + (
            f" (key ids you did not give: {', '.join(sorted(set(unknown)))}; after a key "
            "was replaced, give the retired public key too)"
            if unknown
            else ""
        ),
    )
    v.check(
        bad_consistency == 0,
        f"{max(0, len(history) - 1)} consistency proof(s) between checkpoints hold",
    )
    v.check(
        bool(history) and history[-1]["checkpoint"] == latest,
        "the history ends with the checkpoint the events are proven against",
    )


def check_events(
    v: Verifier, events: list[dict[str, Any]], size: int
) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Each event against its leaf hash and its readable copy; their order. Return the
    events that have a leaf, and their recomputed leaf hashes."""
    sealed: list[dict[str, Any]] = []
    bad_leaves: list[int] = []
    unreadable: list[int] = []
    unsealed: list[int] = []
    order_breaks: list[int] = []
    last_position, last_index = 0, -1
    leaves: list[bytes] = []
    for event in events:
        raw_position, raw_index = event.get("position"), event.get("leaf_index")
        if not whole_number(raw_position) or not whole_number(raw_index):
            unsealed.append(int(raw_position) if whole_number(raw_position) else -1)
            continue
        position, index = int(raw_position), int(raw_index)
        try:
            recomputed = leaf_hash(event_leaf(event)) if canonical(event) else b""
        except (KeyError, ValueError, TypeError, AttributeError, struct.error):
            recomputed = b""
        if recomputed.hex() != event.get("leaf_hash"):
            bad_leaves.append(position)
        if not readable_state_matches(event):
            unreadable.append(position)
        if position <= last_position or index <= last_index:
            order_breaks.append(position)
        last_position, last_index = position, index
        leaves.append(recomputed)
        sealed.append(event)
    v.check(
        not unsealed,
        "every event has a leaf in the log"
        + (f" (first without one: position {unsealed[0]})" if unsealed else ""),
    )
    v.check(
        not bad_leaves,
        "every event's leaf hash matches its stored bytes"
        + (f" (first differing position: {bad_leaves[0]})" if bad_leaves else ""),
    )
    v.check(
        not unreadable,
        "every event's readable state is what its stored bytes say"
        + (f" (first differing position: {unreadable[0]})" if unreadable else ""),
    )
    v.check(
        not order_breaks and last_index < size,
        "positions and leaf indices increase and lie inside the checkpoint"
        + (f" (first break at position {order_breaks[0]})" if order_breaks else ""),
    )
    return sealed, leaves


def check_inclusion(
    v: Verifier,
    bundle: Path,
    sealed: list[dict[str, Any]],
    leaves: list[bytes],
    latest: dict[str, Any],
) -> None:
    size, root = int(latest["tree_size"]), bytes.fromhex(latest["root_hash"])
    proofs = {p["position"]: p for p in read_lines(bundle / "proofs.ndjson")}
    failed: list[int] = []
    for event, leaf in zip(sealed, leaves, strict=True):
        inclusion = proofs.get(event["position"])
        if (
            inclusion is None
            or int(inclusion["tree_size"]) != size
            or inclusion["root_hash"] != latest["root_hash"]
            or not verify_inclusion(
                int(event["leaf_index"]),
                size,
                leaf,
                [bytes.fromhex(h) for h in inclusion["path"]],
                root,
            )
        ):
            failed.append(event["position"])
    v.check(
        not failed,
        f"{len(sealed) - len(failed)} of {len(sealed)} inclusion proofs tie the events "
        "to the checkpoint" + (f" (first failing position: {failed[0]})" if failed else ""),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a buurtkas audit bundle offline.")
    parser.add_argument("bundle", type=Path, help="the bundle directory")
    parser.add_argument(
        "--public-key",
        type=Path,
        required=True,
        action="append",
        help="PEM Ed25519 public key (give it again for each key, the current and retired)",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        action="append",
        default=[],
        help="a checkpoint you kept (JSON, as `buurtkas checkpoint --out` writes it): it "
        "must be in the bundle's history",
    )
    parser.add_argument(
        "--require-complete",
        action="store_true",
        help="fail unless the bundle holds every event the checkpoint covers",
    )
    args = parser.parse_args(argv)
    keys: list[Ed25519PublicKey] = []
    for path in args.public_key:
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as error:
            print(f"error: --public-key: {error}", file=sys.stderr)
            return 1
        if not isinstance(key, Ed25519PublicKey):
            print(f"error: --public-key: {path} is not an Ed25519 public key", file=sys.stderr)
            return 1
        keys.append(key)
    try:
        kept = [read_json(path) for path in args.checkpoint]
    except (OSError, ValueError) as error:
        print(f"error: --checkpoint: {error}", file=sys.stderr)
        return 1
    try:
        return verify(args.bundle, keys, kept, args.require_complete)
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"[FAIL] the bundle cannot be read: {error!r}")
        print("bundle NOT intact")
        return 1


if __name__ == "__main__":
    sys.exit(main())
