"""Worker processes: a program they could not import again evaluates in its own process."""

from __future__ import annotations

import sys
import types

import pytest

from projections import workers


def test_a_program_read_from_standard_input_evaluates_in_its_own_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a main module that a worker could not import again
    main = types.ModuleType("__main__")
    main.__file__ = "<stdin>"
    monkeypatch.setitem(sys.modules, "__main__", main)
    # when / then no worker is used
    assert not workers.main_importable()
    assert workers.default_workers() == 1


def test_a_program_with_a_main_file_or_none_may_use_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a main module read from a file, and an interactive one
    script = types.ModuleType("__main__")
    script.__file__ = __file__
    interactive = types.ModuleType("__main__")
    for main in (script, interactive):
        monkeypatch.setitem(sys.modules, "__main__", main)
        # when / then its workers may import it again
        assert workers.main_importable()
        assert 1 <= workers.default_workers() <= workers.MAX_WORKERS
