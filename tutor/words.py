"""Counts in words, as every front end prints them: '1 tab', '3 tabs', '1 hidden check'."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str = "") -> str:
    """The count and its noun, singular for exactly one (nouns: an irregular plural)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"
