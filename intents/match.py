"""Traffic narrowing shared by QoS kinds: DSCP names, protocols, port ranges."""

from __future__ import annotations

import re

DSCP_NAMES = {
    "default": 0, "be": 0, "ef": 46, "va": 44,
    **{f"cs{n}": n * 8 for n in range(8)},
    **{f"af{c}{d}": c * 8 + d * 2 for c in range(1, 5) for d in range(1, 4)},
}
PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "sctp": 132}
_PORTS = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_dscp(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"invalid DSCP {value!r}")
    if isinstance(value, int):
        if 0 <= value <= 63:
            return value
        raise ValueError(f"invalid DSCP {value}: must be 0-63")
    name = str(value).strip().lower()
    if name.isdigit():
        return parse_dscp(int(name))
    if name in DSCP_NAMES:
        return DSCP_NAMES[name]
    raise ValueError(f"unknown DSCP name {value!r}: use ef, af11..af43, cs0..cs7, default or 0-63")


def dscp_name(value: int) -> str:
    """The conventional name for a DSCP value, else the number."""
    for name, number in DSCP_NAMES.items():
        if number == value and name not in ("be", "va", "cs0"):
            return name
    return str(value)


def parse_protocol(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 255:
        return value
    name = str(value).strip().lower()
    if name.isdigit() and int(name) <= 255:
        return int(name)
    if name in PROTOCOLS:
        return PROTOCOLS[name]
    raise ValueError(f"unknown protocol {value!r}: use tcp, udp, icmp, gre, esp, sctp or 0-255")


def parse_ports(value: object) -> tuple[int, int]:
    match = _PORTS.match(str(value)) if not isinstance(value, bool) else None
    if not match:
        raise ValueError(f"invalid ports {value!r}: write a port (5004) or a range (5004-5010)")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if not 1 <= low <= high <= 65535:
        raise ValueError(f"invalid ports {value!r}: ports are 1-65535 and a range goes low-high")
    return low, high


def port_masks(low: int, high: int) -> list[tuple[int, int]]:
    """Cover [low, high] with (value, mask) pairs for matchers that only know masks (tc u32)."""
    blocks: list[tuple[int, int]] = []
    while low <= high:
        size = low & -low if low else 1 << 16
        while size > high - low + 1:
            size >>= 1
        blocks.append((low, 0xFFFF & ~(size - 1)))
        low += size
    return blocks


def parse_port_list(value: object) -> list[tuple[int, int]]:
    """Ports as a list of ranges: one port or range (``53``, ``"8000-8010"``), several separated by
    commas (``"80,443"``) or a YAML list of them (``[80, 443, 8000-8010]``), in the order written."""
    items = value if isinstance(value, list) else str(value).split(",") if isinstance(value, str) else [value]
    if not items:
        raise ValueError("invalid ports []: list at least one port (5004) or range (5004-5010)")
    ranges = []
    for item in items:
        if isinstance(item, list | dict):
            raise ValueError(f"invalid ports {value!r}: write ports as 53, 8000-8010 or a list of them")
        ranges.append(parse_ports(item))
    return list(dict.fromkeys(ranges))
