"""The loaded site: inventory devices, topology links, defaults and intents. Frozen, validated data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from decimal import Decimal
from typing import Any

from engine.frozen import frozen


@frozen
class Device:
    """One inventory host with its connection data. ``password`` is never shown in repr."""

    name: str
    platform: str  # a directory of templates/ ("ios"): platforms are data, see engine.platforms
    driver: str  # a driver family of the DriverRegistry ("netmiko"), an intent_engine.drivers entry point
    host: str | None = None
    port: int | None = None
    netns: str | None = None
    username: str | None = None
    password_env: str | None = None
    password: str | None = field(default=None, repr=False)
    interfaces: tuple[str, ...] | None = None
    key_file: str | None = None  # SSH private key (ansible_ssh_private_key_file)
    become: bool = False  # run privileged commands through sudo -n (ansible_become)
    napalm_driver: str | None = None  # NAPALM driver name when not the platform's default (e.g. nxos, mock)
    napalm_args: tuple[tuple[str, Any], ...] = ()  # napalm_optional_args, passed through
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, Any], ...] = field(default=(), repr=False)


@frozen
class Endpoint:
    """One end of a link or an access port: ``device:interface``."""

    device: str
    interface: str

    def __str__(self) -> str:
        return f"{self.device}:{self.interface}"


@frozen
class Link:
    """A full-duplex link; ``bandwidth_bps`` is per direction."""

    index: int
    a: Endpoint
    b: Endpoint
    bandwidth_bps: int
    cost: int = 1
    subnet: str | None = None

    def other(self, device: str) -> Endpoint:
        return self.b if self.a.device == device else self.a

    def local(self, device: str) -> Endpoint:
        return self.a if self.a.device == device else self.b


@frozen
class Defaults:
    """The site file's ``defaults``: the reservable share of each link, the transit addresses, the routing mode."""

    reservable_percent: Decimal = Decimal(100)
    transit_pool: str = "10.255.0.0/16"
    routing: str = "summarised"  # or "static-full": one explicit route per remote VLAN subnet


@frozen
class Intent:
    """Base of every intent kind's parsed form."""

    name: str
    kind: str


@frozen
class Site:
    """A loaded site: its devices (inventory), links (topology), defaults and parsed intents."""

    name: str
    path: str
    devices: dict[str, Device]
    links: tuple[Link, ...]
    defaults: Defaults
    intents: tuple[Intent, ...]
    files: tuple[str, ...] = ()
    locations: Mapping[str, str] = field(default_factory=dict)  # intent name -> "FILE:LINE:COL"

    def intents_of(self, kind: str) -> list[Intent]:
        return [intent for intent in self.intents if intent.kind == kind]
