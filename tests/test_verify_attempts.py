"""verify measures a guarantee that fell short again under software emulation, at most 3 times, and says so.

The traffic here is a fake (named as such): it replays rates, to pin down what is retried and how the
detail reads; the real measurement is the full-kernel tier's (qemu) and the lab's."""

from __future__ import annotations

from engine.checks import NOWHERE, Check, Flow, Host, Probe
from engine.verify import EMULATED_ATTEMPTS, measure_and_judge

GUARANTEED = Flow("guaranteed", NOWHERE, NOWHERE, 5201)
BULK = Flow("bulk from h-acc1-eth3", NOWHERE, NOWHERE, 5301)


class FakeTraffic:
    """Replays one measured rate per call for the flow under test; counts the calls."""

    def __init__(self, rates: list[int], emulated: bool) -> None:
        self.rates, self.calls, self._emulated = list(rates), 0, emulated

    def measure(self, check: Check, seconds: int) -> dict[str, int]:
        self.calls += 1
        return {check.measured.name: self.rates.pop(0), BULK.name: 9_000_000}

    def reach(self, host: Host, address: str) -> bool:
        return True

    def probe(self, probe: Probe) -> bool:
        return True

    def emulated(self) -> bool:
        return self._emulated


def guarantee(at_most: bool = False) -> Check:
    return Check("video-10-20", "qos_guarantee", "VLAN 20 -> VLAN 10", 6_000_000, at_most, GUARANTEED, (BULK,))


def test_a_short_guarantee_is_measured_again_and_every_attempt_is_in_the_detail() -> None:
    traffic = FakeTraffic([4_200_000, 5_600_000], emulated=True)
    outcome = measure_and_judge(guarantee(), traffic, 5, 0.2, EMULATED_ATTEMPTS)
    assert outcome.ok and outcome.measured_bps == 5_600_000 and traffic.calls == 2
    assert "meets the guarantee" in outcome.detail and "(-20%)" in outcome.detail
    assert outcome.detail.endswith("(measured 2 times under software emulation, at most 3: 4.2Mbps, 5.6Mbps)")


def test_three_short_attempts_fail_and_show_them_all() -> None:
    traffic = FakeTraffic([4_200_000, 4_000_000, 4_700_000], emulated=True)
    outcome = measure_and_judge(guarantee(), traffic, 5, 0.2, EMULATED_ATTEMPTS)
    assert not outcome.ok and traffic.calls == 3 and "BELOW the guarantee" in outcome.detail
    assert "at most 3: 4.2Mbps, 4Mbps, 4.7Mbps" in outcome.detail


def test_a_pass_a_cap_and_real_hardware_are_measured_once() -> None:
    once = FakeTraffic([5_900_000], emulated=True)
    assert measure_and_judge(guarantee(), once, 5, 0.2, EMULATED_ATTEMPTS).ok and once.calls == 1
    over = FakeTraffic([9_000_000, 1_000_000], emulated=True)  # a cap over its limit is not retried
    assert not measure_and_judge(guarantee(at_most=True), over, 5, 0.2, EMULATED_ATTEMPTS).ok and over.calls == 1
    hardware = FakeTraffic([4_200_000, 5_600_000], emulated=False)
    outcome = measure_and_judge(guarantee(), hardware, 5, 0.2, 1)
    assert not outcome.ok and hardware.calls == 1 and "under software emulation" not in outcome.detail
