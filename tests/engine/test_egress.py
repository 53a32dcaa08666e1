"""What the holder of a network-needing build or container makes unroutable, and what it lets through."""

from __future__ import annotations

import pytest

from tutor.engine.egress import ALLOW_VARIABLE, NEAR, _holder_script, allowed_ranges
from tutor.errors import UsageError


def test_everything_near_is_blackholed_but_the_own_subnet_and_what_is_let_through() -> None:
    script = _holder_script(["172.17.0.0/16", "192.168.16.0/20"], ["10.255.255.53/32"])
    for cidr in (*NEAR, "172.17.0.0/16", "192.168.16.0/20"):
        assert f'[ "$own" = "{cidr}" ] || ip route replace blackhole {cidr}' in script
    assert 'ip route replace blackhole "$gw/32"' in script  # the host, at the network's own gateway
    assert script.index("blackhole") < script.index('ip route replace 10.255.255.53/32 via "$gw"') < script.index("echo ")
    assert script.startswith("set -e")  # a route that cannot be made stops the holder: never a half-closed network


def test_the_ranges_let_through_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_VARIABLE, "10.1.2.3/24, 100.64.0.1")
    assert allowed_ranges() == ["10.1.2.0/24", "100.64.0.1/32"]
    monkeypatch.setenv(ALLOW_VARIABLE, "10.1.2.0/24,mirror.example")
    with pytest.raises(UsageError, match="'mirror.example' is not an IPv4 address range"):
        allowed_ranges()
