import pytest

from engine.units import Rate, format_bps, parse_bandwidth, parse_percent, parse_rate
from intents.match import parse_dscp, parse_ports, parse_protocol, port_masks


@pytest.mark.parametrize(("text", "bps"), [
    ("100Mbps", 100_000_000), ("100mbps", 100_000_000), ("1Gbps", 10**9), ("1.5GBPS", 1_500_000_000),
    ("64Kbps", 64_000), ("9600bps", 9600), (" 10 Mbps ", 10_000_000),
])
def test_bandwidth_units_are_case_insensitive(text: str, bps: int) -> None:
    assert parse_bandwidth(text) == bps


@pytest.mark.parametrize("text", ["100", "100MB/s", "fast", "0bps", "1.5bps", "-1Mbps", 100])
def test_bad_bandwidth_is_refused_with_a_hint(text: object) -> None:
    with pytest.raises(ValueError, match="bps"):
        parse_bandwidth(text)


def test_percent_rates_apply_to_each_link() -> None:
    rate = parse_rate("10%")
    assert rate == Rate(percent=10.0)
    assert rate.on(1_000_000_000) == 100_000_000
    assert parse_rate("20Mbps").on(1) == 20_000_000
    with pytest.raises(ValueError):
        parse_percent("120%")
    with pytest.raises(ValueError):
        parse_rate("10 percent")


def test_format_bps_round_trips() -> None:
    for bps in (1, 999, 1000, 64_000, 100_000_000, 1_500_000_000, 8_880_000_000, 10**10):
        assert parse_bandwidth(format_bps(bps)) == bps


def test_dscp_protocol_ports() -> None:
    assert parse_dscp("af41") == 34 and parse_dscp("EF") == 46 and parse_dscp(10) == 10 and parse_dscp("cs3") == 24
    assert parse_protocol("udp") == 17 and parse_protocol(6) == 6
    assert parse_ports("5004-5010") == (5004, 5010) and parse_ports(443) == (443, 443)
    for bad, parser in (("af99", parse_dscp), (64, parse_dscp), ("quic", parse_protocol), ("10-5", parse_ports)):
        with pytest.raises(ValueError):
            parser(bad)


@pytest.mark.parametrize(("low", "high"), [(5004, 5010), (1, 65535), (80, 80), (1000, 1999), (0x8000, 0x8001)])
def test_port_masks_cover_the_range_exactly(low: int, high: int) -> None:
    blocks = port_masks(low, high)
    covered = {port for port in range(0, 65536) if any(port & mask == value for value, mask in blocks)}
    assert covered == set(range(low, high + 1))
