"""The demo history and the synthetic generator, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from domain.errors import InvalidValue, NotFound
from domain.grant import Grant
from domain.money import Money
from domain.platform import Platform
from domain.postings import Ledger
from domain.values import GrantState, RecognitionState
from projections.replay import replay_platform
from projections.store import ReadModelStore
from service.application import Buurtkas
from service.demo import load_demo
from service.reports import (
    find_platform,
    platform_balances,
    platform_history,
    registered_platforms,
)
from service.synthetic import GenerateError, generate


class TestDemoHistory:
    def test_the_demo_loads_once_and_a_second_run_adds_nothing(self, app: Buurtkas) -> None:
        # given
        first = load_demo(app)
        # when
        second = load_demo(app)
        # then
        assert first > 300
        assert second == 0
        assert app.recorder.max_notification_id() == first

    def test_the_g_buurt_history_shows_the_drawdown_revocation_and_recovery(
        self, app: Buurtkas
    ) -> None:
        # given
        load_demo(app)
        g_buurt = find_platform(app, "G-buurt")
        # when
        balances = {b.neighbourhood: b for b in platform_balances(app)}
        grant = app.load(Grant, Grant.id_for("ZO-2019-G"), "grant")
        platform = app.load(Platform, g_buurt.originator_id, "platform")
        # then
        g = balances["G-buurt"]
        assert g.received == Money.parse("x", "125000")
        assert g.unexplained + g.cash_withdrawn_unaccounted == Money.parse("x", "96150")
        assert g.spent == Money.parse("x", "6200")
        assert grant.state is GrantState.REVOKED
        assert grant.retroactive
        assert grant.refunded + grant.recovered == Money.parse("x", "62000")
        assert platform.recognition is RecognitionState.REVOKED

    def test_the_k_buurt_spends_its_grant_with_every_outflow_matched(self, app: Buurtkas) -> None:
        # given
        load_demo(app)
        # when
        k = {b.neighbourhood: b for b in platform_balances(app)}["K-buurt"]
        # then
        assert k.received == Money.parse("x", "250000")
        assert k.unexplained == Money(0)
        assert k.cash_withdrawn_unaccounted == Money(0)
        assert k.funds == Money(0)

    def test_the_k_buurt_account_is_never_overdrawn_on_any_of_its_business_dates(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        k_buurt = find_platform(app, "K-buurt").originator_id
        days = sorted({line.occurred_on for line in platform_history(app, k_buurt)})
        # when
        banks = {day: replay_platform(app, store, k_buurt, as_of=day).balances for day in days}
        # then its tranches came ahead of the spending they fund
        overdrawn = {day: b["bank"] for day, b in banks.items() if b["bank"] < 0}
        assert not overdrawn
        assert banks[days[-1]]["bank"] == 0

    def test_a_platform_history_lists_its_events_in_store_order(self, app: Buurtkas) -> None:
        # given
        load_demo(app)
        g_buurt = find_platform(app, "g-buurt")
        # when
        lines = platform_history(app, g_buurt.originator_id)
        # then
        positions = [line.position for line in lines]
        assert positions == sorted(positions)
        kinds = Counter(line.event for line in lines)
        assert kinds["LineRecorded"] == 15 + 7  # March 2020 outflows, tranche, 5 expenses, refund
        assert kinds["GrantCommitted"] == 1
        assert kinds["CommitmentReleased"] == 1
        assert all(line.actor for line in lines)

    def test_an_unknown_platform_is_refused_naming_the_field(self, app: Buurtkas) -> None:
        # given
        load_demo(app)
        # when
        with pytest.raises(NotFound) as refused:
            find_platform(app, "Nergensbuurt")
        # then
        assert refused.value.field == "platform"
        assert "Hart voor de K-buurt" in refused.value.message

    def test_a_neighbourhood_of_two_platforms_is_refused_as_ambiguous_naming_both(
        self, app: Buurtkas
    ) -> None:
        # given two synthetic histories whose first platforms share a neighbourhood
        generate(app, 40, seed=7)
        generate(app, 40, seed=8)
        shared = [p for p in registered_platforms(app) if p.neighbourhood == "Buurt 0000"]
        assert len(shared) == 2
        # when
        with pytest.raises(InvalidValue) as refused:
            find_platform(app, "buurt 0000")
        # then
        assert refused.value.field == "platform"
        assert "is the neighbourhood of 2 platforms" in refused.value.message
        assert all(p.name in refused.value.message for p in shared)
        assert find_platform(app, shared[0].name).originator_id == shared[0].originator_id

    def test_the_demo_ledger_balances_to_zero(self, app: Buurtkas) -> None:
        # given
        load_demo(app)
        ledger = Ledger()
        # when
        for _, event in app.stored_events():
            ledger.apply(event)
        # then
        assert ledger.total() == Money(0)


class TestSyntheticGenerator:
    @pytest.mark.parametrize("events", [20, 37, 1001])
    def test_it_stores_exactly_the_requested_number_of_events(
        self, app: Buurtkas, events: int
    ) -> None:
        # when
        stored_count = generate(app, events, seed=3)
        # then
        assert stored_count == events
        assert app.recorder.max_notification_id() == events

    def test_the_same_seed_gives_the_same_history(self, app: Buurtkas) -> None:
        # given
        other = Buurtkas(
            env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"}
        )
        # when
        generate(app, 600, seed=11)
        generate(other, 600, seed=11)

        # then
        def facts(store: Buurtkas) -> list[tuple[Any, ...]]:
            return [
                (
                    e.originator_id,
                    e.originator_version,
                    type(e).__name__,
                    {k: v for k, v in vars(e).items() if k != "timestamp"},
                )
                for _, e in store.stored_events()
            ]

        assert facts(app) == facts(other)
        other.close()

    def test_too_few_events_are_refused(self, app: Buurtkas) -> None:
        with pytest.raises(GenerateError, match="events: must be at least 20"):
            generate(app, 19, seed=1)
        assert app.recorder.max_notification_id() in (None, 0)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_20000_event_generate_into_postgres_completes(postgres_schema_url: str) -> None:
    # given
    from service.storage import persistence_env

    app = Buurtkas(env=persistence_env(postgres_schema_url))
    # when
    stored_count = generate(app, 20_000, seed=2026)
    # then
    assert stored_count == 20_000
    assert app.recorder.max_notification_id() == 20_000
    ledger = Ledger()
    for _, event in app.stored_events():
        ledger.apply(event)
    assert ledger.total() == Money(0)
    app.close()
