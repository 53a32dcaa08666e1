"""Who may take a new name in a served class: the class code, and how fast one address may join.

The code is what an instructor writes on the board: without it no name is taken and no session
folder made. It is compared in constant time and never logged. A learner who has joined comes back
by their cookie or personal link, which need no code. The join rate is a bucket per client address
(an IPv6 address by its /64): a class behind one NAT address shares it, so it holds a whole class
joining at once, and a script that has the code still cannot take every seat in one go.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from tutor.errors import UsageError
from tutor.served.kept_secrets import KeptSecret, kept_or_made

CODE_FILE = "class-code"
CODE_VARIABLE = "DOCKER_TUTOR_CLASS_CODE"
MIN_CODE = 6  # characters, once spaces and dashes are dropped
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a projector and typed
KEPT_CODE = KeptSecret(
    "the class code", re.compile(f"[{_ALPHABET}]{{4}}-[{_ALPHABET}]{{4}}"), "a code like ABCD-EFGH",
    f"give the code learners have with --class-code or {CODE_VARIABLE}",
)


def _normal(code: str) -> str:
    """A code as compared: case, spaces and dashes do not matter to a person copying it off the board."""
    return "".join(code.split()).replace("-", "").casefold()


@dataclass(frozen=True, slots=True)
class ClassCode:
    value: str
    source: str  # where it came from, in the instructor's words
    made: bool = False  # made by the tutor: shown at the start, since no one else has it

    def matches(self, given: str) -> bool:
        # Digests of equal length: the comparison takes the same time whatever was typed.
        mine = hashlib.sha256(_normal(self.value).encode()).digest()
        theirs = hashlib.sha256(_normal(given).encode("utf-8", "surrogatepass")).digest()
        return secrets.compare_digest(mine, theirs)

    def banner(self) -> str:
        if self.made:
            return f"class code: {self.value}   ({self.source}; learners type it with their name)"
        return f"class code {self.source} (learners type it with their name)"


def class_code(sessions: Path, given: str | None) -> ClassCode:
    """The class code and where it came from: --class-code, the environment, or one made and kept."""
    # Taken out of the environment: the learners' tutor processes this server starts inherit it.
    from_env = os.environ.pop(CODE_VARIABLE, "")
    for value, source in ((given, "from --class-code"), (from_env, f"from {CODE_VARIABLE}")):
        if value:
            if len(_normal(value)) < MIN_CODE:
                raise UsageError(
                    f"the class code {source} is shorter than {MIN_CODE} characters (spaces and dashes aside)",
                    hint="Choose a longer one, or leave it out and serve makes one.",
                )
            return ClassCode(value.strip(), source)
    code, source = kept_or_made(
        sessions / CODE_FILE,
        lambda: "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(2)),
        KEPT_CODE,
    )
    return ClassCode(code, source, made=True)


def client_key(address: str | None) -> str:
    """The address a join counts against: an IPv6 client by its /64 (one machine may hold all of it)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(slots=True)
class JoinRate:
    """A bucket per client address: `at_once` joins, then `per_minute`. A join that takes a name and
    a wrong class code each take one; a name that is refused (taken, class full) takes none."""

    at_once: int
    per_minute: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (joins left, when)

    def _left(self, key: str, now: float) -> float:
        left, when = self._buckets.get(key, (float(self.at_once), now))
        return min(float(self.at_once), left + (now - when) * self.per_minute / 60)

    def wait(self, key: str, now: float) -> float:
        """Seconds until this address may join again (0: now)."""
        left = self._left(key, now)
        return 0.0 if left >= 1 else math.ceil((1 - left) * 60 / self.per_minute)

    def take(self, key: str, now: float) -> None:
        self._buckets[key] = (self._left(key, now) - 1, now)
        if len(self._buckets) > 4096:  # forget the addresses whose bucket is full again
            for other in [k for k in self._buckets if self._left(k, now) >= self.at_once]:
                del self._buckets[other]
