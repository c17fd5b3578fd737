"""The Merkle log on a real store: sealed with every append, append-only, provable."""

from __future__ import annotations

import threading
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import StoredEvent

from audit import log as audit_log
from audit import merkle
from audit.leaf import event_leaf_hash
from audit.recorders import Append, in_append_transaction
from audit.rows import event_rows, leaf_rows
from audit.seal import SealCorrupted
from domain.errors import AlreadyExists
from projections.store import ReadModelStore
from service.application import Buurtkas
from service.demo import load_demo
from service.integrity import verify
from service.storage import persistence_env
from service.synthetic import generate
from tests.integration.givens import given_platform
from tests.integration.superuser import Superuser


class TestSealing:
    def test_every_stored_event_has_a_leaf_of_its_exact_bytes_in_store_order(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        generate(app, 700, seed=3)
        # when
        events = list(event_rows(store.conn, app.events_table))
        leaves = list(leaf_rows(store.conn))
        # then
        assert [leaf[0] for leaf in leaves] == list(range(len(events)))
        assert [leaf[1] for leaf in leaves] == [event[0] for event in events]
        for (position, aggregate_id, version, topic, state), leaf in zip(
            events, leaves, strict=True
        ):
            assert event_leaf_hash(position, aggregate_id, version, topic, state, leaf[2]) == bytes(
                leaf[3]
            )

    def test_the_stored_subtrees_give_the_root_of_the_leaves_at_every_size(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        hashes = [bytes(leaf[3]) for leaf in leaf_rows(store.conn)]
        frontier = merkle.Frontier()
        # then
        for size, leaf in enumerate(hashes, start=1):
            frontier.append(leaf)
            if size in (1, 2, 3, 64, 100, 255, 256, 257, len(hashes)):
                assert audit_log.root(store.conn, size) == frontier.root(), size

    def test_an_append_larger_than_one_statement_is_stored_and_sealed_whole(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given 2,500 events in one append (more rows than one insert statement takes)
        events = [
            StoredEvent(uuid4(), 1, "tests:Bulk.Appended", f'{{"n":{n}}}'.encode())
            for n in range(2_500)
        ]
        # when
        positions = app.recorder.insert_events(events)
        # then every one is stored, in order, with a leaf of its exact bytes
        stored = list(event_rows(store.conn, app.events_table))
        leaves = list(leaf_rows(store.conn))
        assert positions == [row[0] for row in stored]
        assert len(stored) == len(leaves) == 2_500
        assert [leaf[1] for leaf in leaves] == [row[0] for row in stored]
        for (position, aggregate_id, version, topic, state), leaf in zip(
            stored, leaves, strict=True
        ):
            assert event_leaf_hash(position, aggregate_id, version, topic, state, leaf[2]) == bytes(
                leaf[3]
            )
        # and the stored subtrees give the tree's root
        frontier = merkle.Frontier()
        for leaf in leaves:
            frontier.append(bytes(leaf[3]))
        assert audit_log.root(store.conn, 2_500) == frontier.root()

    def test_an_event_of_quotes_percent_signs_and_backslashes_is_stored_and_sealed_byte_for_byte(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given states and topics holding what a statement's text must escape (on
        # PostgreSQL the append's values are bound into the text of one query)
        states = [
            b'{"a":"it\'s 100% %s %(x)s"}',
            b'{"b":"back\\\\slash \\" quote; COMMIT; --"}',
            '{"c":"\u00e9\u20ac\U0001f600 $$ $1"}'.encode(),
            bytes(range(1, 256)),
        ]
        events = [StoredEvent(uuid4(), 1, "tests:Odd.Appended'%s", s) for s in states]
        # when
        positions = app.recorder.insert_events(events)
        # then every byte came back, with a leaf of exactly those bytes
        assert positions is not None
        stored = {row[0]: row for row in event_rows(store.conn, app.events_table)}
        leaves = {leaf[1]: leaf for leaf in leaf_rows(store.conn)}
        for position, event in zip(positions, events, strict=True):
            _, aggregate_id, version, topic, state = stored[position]
            assert (topic, state) == (event.topic, event.state)
            leaf = leaves[position]
            assert event_leaf_hash(position, aggregate_id, version, topic, state, leaf[2]) == bytes(
                leaf[3]
            )

    def test_a_refused_save_seals_nothing(self, app: Buurtkas, store: ReadModelStore) -> None:
        # given
        given_platform(app, "Noord", recognised=False)
        size = audit_log.tree_size(store.conn)
        # when: the same platform again is refused by the store's uniqueness
        with pytest.raises(AlreadyExists):
            given_platform(app, "Noord", recognised=False)
        # then
        assert audit_log.tree_size(store.conn) == size
        assert len(list(event_rows(store.conn, app.events_table))) == size

    def test_after_an_append_rolled_back_at_its_commit_the_next_ones_are_sealed_on_the_stored_tree(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given a store, and an append whose last statement fails after its seal was planned
        given_platform(app, "Noord", recognised=False)

        def failing(append: Append) -> None:
            append.cursor.execute("SELECT * FROM no_such_table")

        size = audit_log.tree_size(store.conn)
        with in_append_transaction(failing), pytest.raises(Exception, match="no_such_table"):
            given_platform(app, "Zuid", recognised=False)
        assert audit_log.tree_size(store.conn) == size
        # when the same process appends again, twice
        given_platform(app, "West", recognised=False)
        given_platform(app, "Oost", recognised=False)
        # then every event has its leaf, and the stored subtrees give the leaves' root
        events = list(event_rows(store.conn, app.events_table))
        hashes = [bytes(leaf[3]) for leaf in leaf_rows(store.conn)]
        assert len(hashes) == len(events) > size
        frontier = merkle.Frontier()
        for count, leaf in enumerate(hashes, start=1):
            frontier.append(leaf)
            if count >= size:
                assert audit_log.root(store.conn, count) == frontier.root(), count

    def test_an_append_whose_seal_fails_is_refused_and_stores_nothing(
        self, app: Buurtkas, store: ReadModelStore, database_url: str
    ) -> None:
        # given a store whose seal tables lost the right edge of the tree
        given_platform(app, "Noord", recognised=False)
        superuser = Superuser(database_url)
        try:
            superuser.disable_triggers()
            superuser.run("DELETE FROM audit_nodes")
        finally:
            superuser.close()
        size = len(list(event_rows(store.conn, app.events_table)))
        # when the next append (of a process that has not kept the edge) cannot be sealed
        other = Buurtkas(env=persistence_env(database_url))
        try:
            with pytest.raises(SealCorrupted, match="lack subtrees"):
                given_platform(other, "Zuid", recognised=False)
        finally:
            other.close()
        # then its events were not stored either: no event goes unsealed
        assert len(list(event_rows(store.conn, app.events_table))) == size

    def test_an_append_whose_leaf_was_forged_ahead_of_it_is_refused_as_corrupt_not_as_a_conflict(
        self, app: Buurtkas, store: ReadModelStore, database_url: str
    ) -> None:
        # given a tree of an even number of leaves (so that one more leaf needs no new
        # subtree from the store) and a leaf slipped in, past the application, for the
        # position the next event will be stored at
        given_platform(app, "Noord", recognised=False)
        if audit_log.tree_size(store.conn) % 2:
            app.recorder.insert_events([StoredEvent(uuid4(), 1, "tests:Bulk.Appended", b"{}")])
        size = audit_log.tree_size(store.conn)
        next_position = max(row[0] for row in event_rows(store.conn, app.events_table)) + 1
        superuser = Superuser(database_url)
        try:
            superuser.run(
                "INSERT INTO audit_leaves (leaf_index, position, recorded_at, hash) "
                "VALUES (?, ?, ?, ?)",
                (size, next_position, 0, bytes(32)),
            )
        finally:
            superuser.close()
        # when the next command is saved (by a process that has not kept the tree's edge)
        other = Buurtkas(env=persistence_env(database_url))
        try:
            with pytest.raises(SealCorrupted, match=f"position {next_position}"):
                given_platform(other, "Zuid", recognised=False)
        finally:
            other.close()
        # then it is refused as a corrupt trail (not a concurrent update, which a client
        # would retry forever) and nothing of it was stored
        assert max(row[0] for row in event_rows(store.conn, app.events_table)) < next_position
        assert audit_log.tree_size(store.conn) == size + 1

    def test_concurrent_writers_grow_one_consistent_tree(
        self, app: Buurtkas, store: ReadModelStore, database_url: str
    ) -> None:
        # given: four applications (opened one by one: the library's own table creation
        # is not safe to race) writing at once
        writers = [Buurtkas(env=persistence_env(database_url)) for _ in range(4)]

        def write(seed: int) -> None:
            generate(writers[seed], 300, seed=seed, batch_size=50)

        threads = [threading.Thread(target=write, args=(seed,)) for seed in range(4)]
        # when
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for writer in writers:
            writer.close()
        # then
        report = verify(app, None, read_models=False)
        assert report.ok, report.to_json()
        assert audit_log.tree_size(store.conn) == 1200


class TestAppendOnly:
    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE {events} SET topic = 'x'",
            "DELETE FROM {events}",
            "UPDATE audit_leaves SET recorded_at = 0",
            "DELETE FROM audit_nodes",
            "DELETE FROM audit_checkpoints",
        ],
    )
    def test_updates_and_deletes_of_the_log_are_refused(
        self, app: Buurtkas, store: ReadModelStore, database_url: str, statement: str
    ) -> None:
        # given
        load_demo(app)
        audit_log.write_checkpoint(store.conn, Ed25519PrivateKey.generate())
        su = Superuser(database_url)
        # when / then
        try:
            with pytest.raises(Exception, match="append-only"):
                su.run(statement.format(events=su.events))
            assert audit_log.tree_size(store.conn) == 494
        finally:
            su.close()

    @pytest.mark.postgres
    def test_truncate_of_the_log_is_refused_on_postgres(self, postgres_schema_url: str) -> None:
        # given
        app = Buurtkas(env=persistence_env(postgres_schema_url))
        load_demo(app)
        su = Superuser(postgres_schema_url)
        # when / then
        try:
            for table in (su.events, "audit_leaves", "audit_nodes", "audit_checkpoints"):
                with pytest.raises(Exception, match="append-only"):
                    su.run(f"TRUNCATE {table}")
        finally:
            su.close()
            app.close()


class TestProofs:
    def test_every_event_is_provably_in_the_signed_checkpoint_and_the_log_only_grew(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        key = Ed25519PrivateKey.generate()
        load_demo(app)
        first = audit_log.write_checkpoint(store.conn, key)
        generate(app, 500, seed=9)
        second = audit_log.write_checkpoint(store.conn, key)
        # when
        positions = [event[0] for event in event_rows(store.conn, app.events_table)]
        proofs = [
            audit_log.inclusion_proof(
                store.conn,
                audit_log.leaves_at(store.conn, [p])[p],
                second.tree_size,
                second.root_hash,
            )
            for p in positions[::37]
        ]
        consistency = audit_log.consistency_proof(store.conn, first.tree_size, second.tree_size)
        # then
        assert first.verify(key.public_key())
        assert second.verify(key.public_key())
        assert all(proof.verifies() for proof in proofs)
        assert merkle.verify_consistency(
            first.tree_size, second.tree_size, first.root_hash, second.root_hash, consistency
        )

    def test_an_intact_store_passes_every_check_of_verify(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        key = Ed25519PrivateKey.generate()
        load_demo(app)
        generate(app, 400, seed=2)
        audit_log.write_checkpoint(store.conn, key)
        # when
        report = verify(app, key.public_key())
        # then
        assert report.ok, report.to_json()
        assert [c.name for c in report.checks] == ["store", "subtrees", "read_models", "ledger"]

    def test_checkpoints_without_a_configured_public_key_fail_the_check(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        audit_log.write_checkpoint(store.conn, Ed25519PrivateKey.generate())
        # when
        report = verify(app, None, read_models=False)
        # then
        assert not report.ok
        assert report.checks[0].details[0]["kind"] == "no_public_key"

    def test_a_checkpoint_signed_with_another_key_fails_the_check(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        audit_log.write_checkpoint(store.conn, Ed25519PrivateKey.generate())
        # when
        report = verify(app, Ed25519PrivateKey.generate().public_key(), read_models=False)
        # then
        assert report.checks[0].details[0]["kind"] == "bad_signature"
