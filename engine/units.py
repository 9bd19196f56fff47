"""Bandwidth and share parsing: ``100Mbps``, ``1.5gbps``, ``90%``."""

from __future__ import annotations

import re
from dataclasses import dataclass

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(bps|kbps|mbps|gbps|tbps)\s*$", re.IGNORECASE)
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_FACTOR = {"bps": 1, "kbps": 10**3, "mbps": 10**6, "gbps": 10**9, "tbps": 10**12}


@dataclass(frozen=True)
class Rate:
    """A rate as written: absolute bits per second, or a share of the link it is applied to."""

    bps: int | None = None
    percent: float | None = None

    def on(self, capacity_bps: int) -> int:
        """The rate in bits per second on a link of ``capacity_bps``."""
        if self.bps is not None:
            return self.bps
        assert self.percent is not None
        return int(capacity_bps * self.percent / 100)

    def __str__(self) -> str:
        return format_bps(self.bps) if self.bps is not None else f"{self.percent:g}%"


def parse_bandwidth(text: object) -> int:
    """``"100Mbps"`` -> 100_000_000. Raises ValueError with a message for the user."""
    match = _RATE.match(str(text)) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"invalid bandwidth {text!r}: use a number and bps, Kbps, Mbps or Gbps (e.g. 100Mbps)")
    value = float(match.group(1)) * _FACTOR[match.group(2).lower()]
    if value < 1 or value != int(value):
        raise ValueError(f"invalid bandwidth {text!r}: must be a whole number of bits per second, at least 1bps")
    return int(value)


def parse_rate(text: object) -> Rate:
    """A guarantee or cap: absolute (``100Mbps``) or a share of each link (``10%``)."""
    if isinstance(text, str) and _PERCENT.match(text):
        return Rate(percent=parse_percent(text))
    if isinstance(text, str) and not _RATE.match(text):
        raise ValueError(f"invalid rate {text!r}: use bps/Kbps/Mbps/Gbps (e.g. 100Mbps) or a share like 10%")
    return Rate(bps=parse_bandwidth(text))


def parse_percent(text: object) -> float:
    """``"90%"`` -> 90.0; must be above 0 and at most 100."""
    match = _PERCENT.match(str(text)) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"invalid share {text!r}: write a percentage such as 90%")
    value = float(match.group(1))
    if not 0 < value <= 100:
        raise ValueError(f"invalid share {text!r}: must be above 0% and at most 100%")
    return value


def format_bps(bps: int) -> str:
    """100_000_000 -> ``100Mbps``; keeps the largest unit that divides exactly, else 3 decimals."""
    for unit, factor in (("Tbps", 10**12), ("Gbps", 10**9), ("Mbps", 10**6), ("Kbps", 10**3)):
        if bps >= factor:
            if bps % factor == 0:
                return f"{bps // factor}{unit}"
            return f"{bps / factor:.3f}".rstrip("0").rstrip(".") + unit
    return f"{bps}bps"
