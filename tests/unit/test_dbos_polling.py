"""DBOS's per-poll reads kept for a moment (montage.engine.dbos_polling)."""

from __future__ import annotations

from typing import Any

from montage.engine.dbos_polling import _Kept


def test_an_answer_is_kept_per_key_until_it_is_too_old() -> None:
    calls: list[tuple[Any, ...]] = []

    def read(key: str, *args: Any) -> str:
        calls.append((key, *args))
        return f"{key}#{len(calls)}"

    kept = _Kept(read, keep_s=60.0)
    assert kept("a", "conn") == "a#1"
    assert kept("a", "other conn") == "a#1"  # kept: the extra arguments do not change the answer
    assert kept("b") == "b#2"
    assert calls == [("a", "conn"), ("b",)]
    kept.keep_s = 0.0  # everything kept is now too old
    assert kept("a") == "a#3"


def test_no_answer_is_not_kept() -> None:
    answers = iter([None, "registered"])
    kept = _Kept(lambda _key: next(answers), keep_s=60.0)
    assert kept("new-queue") is None
    assert kept("new-queue") == "registered"  # a queue registered meanwhile is seen at once
