"""Bandwidth and share parsing: ``100Mbps``, ``1.5gbps``, ``90%``. Units mean what they say.

- Rates are bits per second: ``bps``, ``Kbps``, ``Mbps``, ``Gbps``, ``Tbps`` (any case; k = 1000).
- Bytes per second (``100MBps``, ``100MB/s``: a capital B then ``ps`` or ``/s``) are refused with the
  rate in bits to write instead, never silently read as bits.
- Decimals are exact (``Decimal``): ``1.001Mbps`` is 1,001,000 bps; a rate must come out as a whole
  number of bits per second.
- Digits are ASCII only (no Arabic-Indic or full-width digits), at most 30 of them.
"""

from __future__ import annotations

import re
from decimal import Decimal

from engine.frozen import frozen

_NUMBER = r"([0-9]{1,30}(?:\.[0-9]{1,30})?)"
_RATE = re.compile(rf"\s*{_NUMBER}\s*(bps|kbps|mbps|gbps|tbps)\s*", re.IGNORECASE | re.ASCII)
_BYTES = re.compile(rf"\s*{_NUMBER}\s*([KMGT]?)B(?:ps|/s)\s*", re.ASCII | re.IGNORECASE)
_BYTES_CASE = re.compile(r"[KMGTkmgt]?B(?:ps|/s)\s*$", re.ASCII)  # capital B, lowercase ps: bytes
_PERCENT = re.compile(rf"\s*{_NUMBER}\s*%\s*", re.ASCII)
_FACTOR = {"": 1, "bps": 1, "kbps": 10**3, "mbps": 10**6, "gbps": 10**9, "tbps": 10**12,
           "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


@frozen
class Rate:
    """A rate as written: absolute bits per second, or a share of the link it is applied to."""

    bps: int | None = None
    percent: Decimal | None = None

    def on(self, capacity_bps: int) -> int:
        """The rate in bits per second on a link of ``capacity_bps`` (shares rounded down, exactly)."""
        if self.bps is not None:
            return self.bps
        assert self.percent is not None
        return int(capacity_bps * self.percent / 100)

    def __str__(self) -> str:
        return format_bps(self.bps) if self.bps is not None else f"{self.percent:f}".rstrip("0").rstrip(".") + "%"


def _shown(text: object) -> str:
    shown = repr(text) if isinstance(text, str) else f"{type(text).__name__} value"
    return shown if len(shown) <= 42 else shown[:40] + "...'"


def bytes_hint(text: str) -> str | None:
    """If ``text`` is a rate in bytes per second, the refusal saying what to write instead."""
    match = _BYTES.fullmatch(text)
    if not match or not _BYTES_CASE.search(text):
        return None
    bits = Decimal(match.group(1)) * _FACTOR[match.group(2).lower()] * 8
    suggestion = format_bps(int(bits)) if bits == int(bits) and bits >= 1 else f"{bits}bps"
    return (f"invalid bandwidth {_shown(text)}: that is bytes per second (capital B); rates are in bits per second: "
            f"write {suggestion}")


def parse_bandwidth(text: object) -> int:
    """``"100Mbps"`` -> 100_000_000. Raises ValueError with a message for the user."""
    if isinstance(text, str):
        hint = bytes_hint(text)
        if hint:
            raise ValueError(hint)
    match = _RATE.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"invalid bandwidth {_shown(text)}: use a number and bps, Kbps, Mbps or Gbps (e.g. 100Mbps)")
    value = Decimal(match.group(1)) * _FACTOR[match.group(2).lower()]
    if value < 1 or value != value.to_integral_value():
        raise ValueError(f"invalid bandwidth {_shown(text)}: must be a whole number of bits per second, at least 1bps")
    return int(value)


def parse_rate(text: object) -> Rate:
    """A guarantee or cap: absolute (``100Mbps``) or a share of each link (``10%``)."""
    if isinstance(text, str) and _PERCENT.fullmatch(text):
        return Rate(percent=parse_percent(text))
    if isinstance(text, str) and not _RATE.fullmatch(text) and not bytes_hint(text):
        raise ValueError(f"invalid rate {_shown(text)}: use bps/Kbps/Mbps/Gbps (e.g. 100Mbps) or a share like 10%")
    return Rate(bps=parse_bandwidth(text))


def parse_percent(text: object) -> Decimal:
    """``"90%"`` -> Decimal("90"); must be above 0 and at most 100."""
    match = _PERCENT.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"invalid share {_shown(text)}: write a percentage such as 90%")
    value = Decimal(match.group(1))
    if not 0 < value <= 100:
        raise ValueError(f"invalid share {_shown(text)}: must be above 0% and at most 100%")
    return value


def format_bps(bps: int) -> str:
    """100_000_000 -> ``100Mbps``: the largest unit that shows ``bps`` exactly with at most 3 decimals."""
    for unit, factor in (("Tbps", 10**12), ("Gbps", 10**9), ("Mbps", 10**6), ("Kbps", 10**3)):
        if bps >= factor:
            if bps % factor == 0:
                return f"{bps // factor}{unit}"
            if (bps * 1000) % factor == 0:  # exact with at most 3 decimals; else a smaller unit is
                return f"{Decimal(bps) / factor:f}".rstrip("0").rstrip(".") + unit
    return f"{bps}bps"
