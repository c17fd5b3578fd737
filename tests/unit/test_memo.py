"""The bounded memos projections keep, and the UUID spellings they reuse."""

from __future__ import annotations

from uuid import uuid4

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


def test_a_uuid_is_spelled_as_str_spells_it() -> None:
    # given
    value = uuid4()
    # when / then
    assert text(value) == str(value)
    assert text(value) is text(value)
