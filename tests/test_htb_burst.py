"""HTB bursts the Linux driver sends: 10 ms of the rate (tc-htb(8)'s one timer period), not tc's one MTU.

With one MTU of burst, a class whose dequeue comes late (a busy or emulated CPU) loses what it earned
meanwhile and runs below its rate; the full-kernel tier (qemu) measured it."""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

import pytest

from drivers.linux import netlink
from tests.conftest import lab_site
from tests.labs import running_lab


def _buffers(request: netlink.Request) -> tuple[int, int]:
    """(buffer, cbuffer) in ticks from an encoded HTB class request (struct tc_htb_opt after two ratespecs)."""
    options = netlink.attrs(request.body[netlink._TCMSG.size:])[netlink.TCA_OPTIONS]
    parms = netlink.attrs(options)[netlink.TCA_HTB_PARMS]
    return struct.unpack_from("=II", parms, 2 * netlink._RATESPEC.size)


def test_burst_is_ten_milliseconds_of_the_rate_and_never_below_tcs_default() -> None:
    assert netlink.htb_burst(6_000_000 // 8) == 7_500  # 6 Mbit/s: 10 ms = 7,500 bytes (tc: 1,600)
    assert netlink.htb_burst(20_000_000 // 8) == 25_000
    assert netlink.htb_burst(8_000 // 8) == netlink.MTU  # a low rate keeps one MTU
    obj = {"dev": "eth1", "classid": "1:338c", "parent": "1:1", "kind": "htb", "rate": 6_000_000,
           "ceil": 20_000_000, "prio": 1}
    buffer, cbuffer = _buffers(netlink.new_class(3, obj))
    assert buffer == netlink._xmittime(750_000, 7_500) and cbuffer == netlink._xmittime(2_500_000, 25_000)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: creates network namespaces")
def test_applied_classes_have_ten_milliseconds_of_burst(tmp_path: Path) -> None:
    """What the kernel holds after apply, as tc shows it (one MTU, 1600b, before)."""
    with running_lab(tmp_path, lab_site("rate: 30Mbps, queue: pfifo, match: {dscp: af41}"), apply=True) as lab:
        shown = lab.sh("core1", "tc", "-d", "class", "show", "dev", "eth2")
    classes = {m[1]: m[0] for m in re.finditer(r"class htb (\S+) .*", shown)}
    assert "rate 30Mbit ceil 100Mbit" in classes["1:338c"], shown
    assert "burst 37500b" in classes["1:338c"] and "cburst 125000b" in classes["1:338c"], shown
    assert "burst 125000b" in classes["1:1"], shown
