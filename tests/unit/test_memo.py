"""The bounded memos projections keep, and the UUID spellings they reuse."""

from __future__ import annotations

from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.ids import text
from projections.memo import Memo


def test_a_full_memo_forgets_its_oldest_quarter_and_keeps_the_newest() -> None:
    # given
    memo: Memo[int, str] = Memo(8)
    # when
    for n in range(20):
        memo[n] = str(n)
    # then
    assert len(memo) <= 8
    assert memo.get(19) == "19"
    assert 0 not in memo


def test_entries_added_in_bulk_stay_within_the_bound_and_the_oldest_go_first() -> None:
    # given a full memo
    memo: Memo[int, str] = Memo(8)
    for n in range(8):
        memo[n] = str(n)
    # when a batch of new entries is added at once
    memo.update_bounded({n: str(n) for n in range(100, 105)})
    # then the memo is within its bound, every new entry is there and the oldest went
    assert len(memo) <= 8
    assert all(memo.get(n) == str(n) for n in range(100, 105))
    assert 0 not in memo


def test_a_uuid_is_spelled_as_str_spells_it() -> None:
    # given
    value = uuid4()
    # when / then
    assert text(value) == str(value)
    assert text(value) is text(value)


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_every_uuid_is_spelled_as_str_spells_it(number: int) -> None:
    # given any 128-bit id, the extremes among them
    value = UUID(int=number)
    # when / then
    assert text(value) == str(value)
