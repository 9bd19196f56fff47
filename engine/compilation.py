"""What one compilation produced: the type the engine and the intent kinds share (a leaf module).

Kinds read it (``describe``, verify steps); the compiler makes it; plan, apply and verify consume
it. It imports only data modules, so nothing that imports it can close an import cycle.
"""

from __future__ import annotations

from dataclasses import field
from functools import cached_property

from engine.build import Reservation
from engine.device import DeviceModel
from engine.frozen import frozen
from engine.render import DeviceConfig


@frozen
class Compilation:
    """What compiling a site gives: each device's model and rendered configuration, and the reservations."""

    models: dict[str, DeviceModel]
    configs: dict[str, DeviceConfig]
    reservations: tuple[Reservation, ...]
    vlans_per_link: dict[int, set[int]] = field(default_factory=dict)  # link index -> VLANs it carries at L2
    notes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # device -> notes for its plan
    path_computations: int = 0  # shortest-path trees computed (one per destination class)

    @cached_property
    def reservations_per_intent(self) -> dict[str, int]:
        """Intent name -> how many reservations (egress interfaces) it has a share of, counted once for
        every kind's ``describe`` (a guarantee's looked through all of them: 100 x 1,600 at 1,000 devices)."""
        counts: dict[str, int] = {}
        for reservation in self.reservations:
            for name in dict.fromkeys(reservation.intents):  # once each, as ``name in reservation.intents``
                counts[name] = counts.get(name, 0) + 1
        return counts
