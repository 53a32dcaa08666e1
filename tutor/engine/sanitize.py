"""Make untrusted output safe to show: no terminal escapes, no control bytes, bounded size."""

from __future__ import annotations

import re

_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(raw: bytes | str, limit: int = 64_000) -> str:
    """Decode (invalid UTF-8 replaced), strip escapes and control bytes, keep the last `limit` chars."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = _CONTROL.sub("", _ESCAPES.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    if len(text) > limit:
        text = "[... earlier output cut ...]\n" + text[-limit:]
    return text


def clean_line(raw: str, limit: int = 500) -> str:
    line = clean_text(raw, limit=10 * limit).rstrip("\n")
    return line if len(line) <= limit else line[:limit] + " [...]"
