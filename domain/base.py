"""Shared building blocks of every aggregate and event.

Every event carries its business date (``occurred_on``) and the acting user (``actor``);
decisions also carry a ``reason``. The library's ``timestamp`` is the recorded time.
Topics are explicit and stable (``buurtkas.<aggregate>.<Event>``): moving or renaming a
class never orphans stored events. A stored event class is never changed in place; a
change adds ``class_version`` and an ``upcast_vN_vN+1`` static method.
"""

from __future__ import annotations

from datetime import date

from eventsourcing.domain import Aggregate

from domain.errors import InvalidTransition, InvalidValue
from domain.money import Money
from domain.values import MAX_TEXT, calendar_date, text


class Fact(Aggregate.Event):
    """Base of every buurtkas event."""

    occurred_on: date
    actor: str


def actor_of(value: object) -> str:
    return text("actor", value)


def reason_of(value: object, *, required: bool = True) -> str:
    return text("reason", value, max_length=MAX_TEXT, required=required)


def business_date(field: str, value: object) -> date:
    return calendar_date(field, value)


class Ledgered(Aggregate):
    """An aggregate whose money events can be reversed by a correction event.

    Subclasses record the versions of their reversible events in ``_reversible`` and
    define an ``EntryReversed`` event class with its own topic.
    """

    def _init_reversible(self) -> None:
        self._reversible: dict[int, tuple[str, Money]] = {}
        self._reversed: set[int] = set()

    def _mark_reversible(self, version: int, kind: str, amount: Money) -> None:
        self._reversible[version] = (kind, amount)

    def _check_reversible(self, version: object) -> tuple[str, Money]:
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidValue("reverses_version", "must be an event version number")
        if version in self._reversed:
            raise InvalidTransition("reverses_version", f"event {version} is already reversed")
        try:
            return self._reversible[version]
        except KeyError:
            raise InvalidValue(
                "reverses_version",
                f"event {version} of this {type(self).__name__} is not a reversible money event",
            ) from None

    def _apply_reversal(self, version: int) -> tuple[str, Money]:
        self._reversed.add(version)
        return self._reversible[version]

    def reversible_versions(self) -> dict[int, tuple[str, Money]]:
        return {v: k for v, k in self._reversible.items() if v not in self._reversed}

    def reverse(self, *, reverses_version: int, reason: str, occurred_on: date, actor: str) -> None:
        """Correct a money event recorded in error with the aggregate's ``EntryReversed``."""
        self._check_reversible(reverses_version)
        self.trigger_event(
            type(self).__dict__["EntryReversed"],
            reverses_version=reverses_version,
            reason=reason_of(reason),
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )
