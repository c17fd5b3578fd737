#!/usr/bin/env python3
"""Verify a buurtkas audit bundle offline.

    python scripts/verify_bundle.py BUNDLE_DIR --public-key buurtkas-audit.pub

Needs only the Python standard library and ``cryptography``; it shares no code with
buurtkas on purpose, so that an auditor can read all of it. It checks:

1. every checkpoint's Ed25519 signature with the public key the auditor holds;
2. every consistency proof between consecutive checkpoints (RFC 9162 2.1.4.2);
3. every event's leaf hash, recomputed from its exact stored bytes (docs/audit.md);
4. positions and leaf indices strictly increasing, all inside the checkpoint;
5. for a whole-store bundle, the root rebuilt from every leaf equals the checkpoint's;
   for a platform bundle, every event's inclusion proof (RFC 9162 2.1.3.2).

Prints each check and exits 0 when the bundle is intact, 1 otherwise.
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
from typing import Any

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


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
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


def signature_holds(cp: dict[str, Any], public_key: Ed25519PublicKey) -> bool:
    if cp.get("key_id") != key_id(public_key):
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


def read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def verify(bundle: Path, public_key: Ed25519PublicKey) -> int:
    v = Verifier()
    manifest = json.loads((bundle / "manifest.json").read_text())
    v.check(manifest.get("format") == FORMAT, f"bundle format is {FORMAT}")
    latest = json.loads((bundle / "checkpoint.json").read_text())
    size, root = int(latest["tree_size"]), bytes.fromhex(latest["root_hash"])
    v.check(
        signature_holds(latest, public_key),
        f"checkpoint (size {size}, {latest['signed_at']}) is signed by key {key_id(public_key)}",
    )
    v.check(manifest.get("root_hash") == latest["root_hash"], "manifest names the same root")

    history = json.loads((bundle / "checkpoints.json").read_text())
    previous: dict[str, Any] | None = None
    bad_signatures = bad_consistency = 0
    for entry in history:
        cp = entry["checkpoint"]
        if not signature_holds(cp, public_key):
            bad_signatures += 1
        given = entry.get("consistency_from_previous")
        if previous is not None and given is None:
            bad_consistency += 1
            print(f"  no consistency proof for the checkpoint of {cp['signed_at']}")
        elif previous is not None:
            proof = [bytes.fromhex(h) for h in given]
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
    v.check(
        bad_signatures == 0, f"{len(history)} checkpoint(s) in the history carry valid signatures"
    )
    v.check(
        bad_consistency == 0,
        f"{max(0, len(history) - 1)} consistency proof(s) between checkpoints hold",
    )
    v.check(
        bool(history) and history[-1]["checkpoint"] == latest,
        "the history ends with the checkpoint the events are proven against",
    )

    events = read_lines(bundle / "events.ndjson")
    sealed: list[dict[str, Any]] = []
    v.check(len(events) == manifest.get("events"), f"{len(events)} events, as the manifest says")
    bad_leaves: list[int] = []
    unsealed: list[int] = []
    order_breaks: list[int] = []
    last_position, last_index = 0, -1
    leaves: list[bytes] = []
    for event in events:
        position, index = event.get("position"), event.get("leaf_index")
        if not isinstance(position, int) or not isinstance(index, int):
            unsealed.append(position if isinstance(position, int) else -1)
            continue
        try:
            recomputed = leaf_hash(event_leaf(event))
        except (KeyError, ValueError, TypeError, AttributeError, struct.error):
            recomputed = b""
        if recomputed.hex() != event.get("leaf_hash"):
            bad_leaves.append(position)
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
        not order_breaks and last_index < size,
        "positions and leaf indices increase and lie inside the checkpoint"
        + (f" (first break at position {order_breaks[0]})" if order_breaks else ""),
    )

    if manifest.get("proofs") == "root":
        indices_complete = [e["leaf_index"] for e in sealed] == list(range(size))
        v.check(indices_complete, f"the bundle holds every leaf 0..{size - 1} of the checkpoint")
        v.check(root_of(leaves) == root, "the root rebuilt from every leaf equals the checkpoint's")
    else:
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
            f"{len(events) - len(failed)} of {len(events)} inclusion proofs tie the events "
            "to the checkpoint" + (f" (first failing position: {failed[0]})" if failed else ""),
        )
    failed_checks = f"bundle NOT intact: {v.failures} check(s) failed"
    print("bundle intact" if v.failures == 0 else failed_checks)
    return 0 if v.failures == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a buurtkas audit bundle offline.")
    parser.add_argument("bundle", type=Path, help="the bundle directory")
    parser.add_argument("--public-key", type=Path, required=True, help="PEM Ed25519 public key")
    args = parser.parse_args(argv)
    try:
        key = serialization.load_pem_public_key(args.public_key.read_bytes())
    except (OSError, ValueError) as error:
        print(f"error: --public-key: {error}", file=sys.stderr)
        return 1
    if not isinstance(key, Ed25519PublicKey):
        print("error: --public-key: not an Ed25519 public key", file=sys.stderr)
        return 1
    try:
        return verify(args.bundle, key)
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"[FAIL] the bundle cannot be read: {error!r}")
        print("bundle NOT intact")
        return 1


if __name__ == "__main__":
    sys.exit(main())
