"""Who may talk to a served class: same-origin pages on a known host name, within the limits.

Any web page a learner opens could otherwise drive their tutor through the local port (a
cross-site websocket), or reach it by a DNS name rebound to this machine: every request must
name a host this server answers to, and a browser request that says where it comes from
(Origin) must come from that same host. Websockets and form posts must say it.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True, slots=True)
class Limits:
    max_learners: int = 60  # names that may join the class
    max_processes: int = 40  # tutor processes (open tabs) on this machine at once
    max_tabs: int = 3  # tabs one learner may have open at once
    idle_minutes: float = 30.0  # a tab with no key press for this long is closed; its work is kept
    # New names (and wrong class codes) from one client address: a class behind one NAT address
    # joins at once; a script with the code still cannot take every seat in one go.
    joins_at_once: int = 30
    joins_per_minute: float = 10.0


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _hostname(netloc: str) -> str:
    return (urlsplit(f"//{netloc}").hostname or "").lower()


class OriginGuard:
    def __init__(self, bound_host: str, extra_hosts: list[str]) -> None:
        names = {*LOOPBACK_NAMES, socket.gethostname().lower(), socket.getfqdn().lower()}
        if bound_host not in ("0.0.0.0", "::", ""):
            names.add(bound_host.lower())
        for extra in extra_hosts:
            names.add(_hostname(urlsplit(extra).netloc if "//" in extra else extra))
        self.names = frozenset(names)

    def refusal(self, host: str | None, origin: str | None, *, origin_required: bool) -> str:
        """Why this request is refused ('' if it is not)."""
        name = _hostname(host or "")
        # An IP address cannot be rebound by a DNS trick; a name must be one this server answers to.
        if not name or not (_is_ip(name) or name in self.names):
            return f"unknown host {host!r}: serve with --allow-host {name or 'NAME'} to answer to it"
        if origin is None:
            return "a request from a browser page must say its Origin" if origin_required else ""
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or parts.netloc.lower() != (host or "").lower():
            return f"cross-origin request from {origin!r} refused"
        return ""
