"""The output end of ``intent plan``: what its fast paths give is what the straightforward code gives.

Intent summaries count reservations from one index per compilation (``Compilation.reservations_per_intent``)
rather than each guarantee scanning every reservation.
"""

from __future__ import annotations

from pathlib import Path

from engine.build import Reservation
from engine.compilation import Compilation
from engine.compiler import compile_site
from engine.loader import load_site
from tests.bench import fabric

GOLDEN = Path(__file__).parent / "golden"


def _counted(compilation: Compilation, name: str) -> int:
    """How many reservations name ``name``: what a guarantee's summary counted before the index."""
    return sum(1 for r in compilation.reservations if name in r.intents)


def test_reservations_per_intent_counts_what_scanning_them_counts(tmp_path: Path) -> None:
    sites = sorted(GOLDEN.glob("*/*/site.yaml")) + [fabric.generate(tmp_path / "fabric", 60, guarantees=12)]
    checked = 0
    for path in sites:
        site = load_site(path)
        compilation = compile_site(site)
        for intent in site.intents:
            assert compilation.reservations_per_intent.get(intent.name, 0) == _counted(compilation, intent.name)
            checked += _counted(compilation, intent.name) > 0
    assert checked > 10
    # an intent listed twice on one reservation counts it once, as ``name in r.intents`` does
    doubled = Compilation({}, {}, (Reservation("d", "eth0", 100, 90, 20, ("a", "a", "b")),
                                   Reservation("d", "eth1", 100, 90, 10, ("b",))))
    assert doubled.reservations_per_intent == {"a": 1, "b": 2} == {n: _counted(doubled, n) for n in "ab"}
