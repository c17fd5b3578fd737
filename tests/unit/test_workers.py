"""Worker processes: who may use them, and how they see a batch's rows."""

from __future__ import annotations

import sys
import types

import pytest

from projections import workers
from projections.rows import laid_over


def test_a_program_read_from_standard_input_evaluates_in_its_own_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a main module that a worker could not import again
    main = types.ModuleType("__main__")
    main.__file__ = "<stdin>"
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setattr(workers, "available_processors", lambda: 3)
    # when / then no worker is used
    assert not workers.main_importable()
    assert workers.default_workers() == 1


def test_a_program_with_a_main_file_or_none_uses_a_worker_per_processor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given three processors, a main module read from a file, and an interactive one
    monkeypatch.setattr(workers, "available_processors", lambda: 3)
    script = types.ModuleType("__main__")
    script.__file__ = __file__
    interactive = types.ModuleType("__main__")
    for main in (script, interactive):
        monkeypatch.setitem(sys.modules, "__main__", main)
        # when / then its workers may import it again: one per processor
        assert workers.main_importable()
        assert workers.default_workers() == 3
    # and never more than the most
    monkeypatch.setattr(workers, "available_processors", lambda: 64)
    assert workers.default_workers() == workers.MAX_WORKERS


def test_the_fork_server_imports_first_what_the_main_module_took_from_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a main module like the buurtkas command's, which takes main from service.cli
    from service.cli import main as cli_main

    command = types.ModuleType("__main__")
    command.main = cli_main  # type: ignore[attr-defined]
    command.sys = sys  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "__main__", command)
    # when / then the fork server imports service.cli before a worker imports the command
    assert workers.main_draws_on() == ["service.cli"]


def test_a_batchs_writes_laid_over_stored_rows_move_replace_and_delete_them() -> None:
    # given stored rows of two platforms, and a batch that moves, adds and deletes rows
    selected = [("facts", "a", "p1", "A"), ("facts", "b", "p2", "B"), ("facts", "d", "p1", "D")]
    writes: list[tuple[str, tuple[str | None, str] | None]] = [
        ("a", ("p2", "A2")),  # moved to the other platform, and changed
        ("c", ("p1", "C")),  # new
        ("b", None),  # deleted
        ("d", ("p3", "")),  # moved to a platform not asked for
    ]
    # when the writes are laid over
    found = laid_over({"p1": {}, "p2": {}}, selected, writes)
    # then each platform has its rows as the batch left them, by key
    assert found == {"p1": [("c", "C")], "p2": [("a", "A2")]}
