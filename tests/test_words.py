"""Counts in words: one of a thing is singular, every other count plural."""

from __future__ import annotations

from tutor.words import plural


def test_one_is_singular_and_every_other_count_plural() -> None:
    assert [plural(n, "tab") for n in (0, 1, 2)] == ["0 tabs", "1 tab", "2 tabs"]
    assert plural(1, "hidden check") == "1 hidden check" and plural(3, "hidden check") == "3 hidden checks"
    assert plural(2, "child", "children") == "2 children" and plural(1, "child", "children") == "1 child"
