"""intent verify with real traffic in the lab: a guarantee that holds, one broken by hand, a cap."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import lab_site
from tests.labs import Lab, running_lab

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and traffic"),
              pytest.mark.measures]

SITE = lab_site("rate: 30Mbps, match: {dscp: af41}, queue: pfifo", "name: cap-guest\n    qos_limit: {vlan: 30, rate: 10Mbps}",
                reservable="90%", guest=True)


@pytest.fixture
def applied(tmp_path: Path) -> Iterator[Lab]:
    with running_lab(tmp_path, SITE, apply=True) as lab:
        yield lab


def verify(lab: Lab, check: int) -> dict:
    result = lab.intent("verify", "--format", "json", "--seconds", "3", check=check)
    return json.loads(result.stdout)


def test_the_guarantee_and_the_cap_hold(applied: Lab) -> None:
    report = verify(applied, check=0)
    assert report["ok"] is True and report["drift"] == {}
    by_name = {intent["name"]: intent for intent in report["intents"]}
    assert list(by_name) == ["users", "video", "guest", "video-10-20", "cap-guest"]
    video = by_name["video-10-20"]
    assert video["expected_bps"] == 30_000_000 and video["measured_bps"] >= 27_000_000
    assert [d["direction"] for d in video["directions"]] == ["VLAN 10 -> VLAN 20", "VLAN 20 -> VLAN 10"]
    assert "against bulk from" in video["detail"]  # it was measured under competition
    cap = by_name["cap-guest"]
    assert cap["ok"] and cap["measured_bps"] <= 11_000_000 and cap["measured_bps"] > 5_000_000
    counters = {(c["device"], c["interface"], c["intent"]): c for c in report["counters"]}
    assert counters[("core1", "eth2", "video-10-20")]["bytes"] > 1_000_000  # the class carried the flow


def test_a_guarantee_broken_by_hand_fails_and_shows_the_drift(applied: Lab) -> None:
    pref = applied.sh("core1", "tc", "filter", "show", "dev", "eth2").split("pref ")[1].split()[0]
    applied.sh("core1", "tc", "filter", "del", "dev", "eth2", "parent", "1:", "pref", pref, "protocol", "ip", "u32")
    report = verify(applied, check=1)
    assert report["ok"] is False
    video = next(i for i in report["intents"] if i["name"] == "video-10-20")
    forward = next(d for d in video["directions"] if d["direction"] == "VLAN 10 -> VLAN 20")
    assert forward["ok"] is False and "BELOW the guarantee of 30Mbps" in forward["detail"]
    assert "core1" in report["drift"]
    assert f"+tc filter add dev eth2 parent 1: protocol ip pref {pref} u32" in report["drift"]["core1"]
    text = applied.intent("verify", "--seconds", "2", check=1).stdout
    assert "FAILED:" in text and "Drift on core1" in text
