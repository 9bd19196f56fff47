"""What the vendor drivers share: the plan of one CLI device (engine.plan, the one remediation
path) when the caller has none, and the checks after a commit or restore."""

from __future__ import annotations

import hashlib
import re

from engine import cliconfig
from engine.errors import DriverError
from engine.plan import DevicePlan, cli_device_plan, to_send
from engine.render import DeviceConfig, platform_spec
from engine.takeover import Inheritance


def planned(config: DeviceConfig, running: str, plan: DevicePlan | None) -> DevicePlan:
    """The plan's commands for this device: ``plan`` as given (what ``intent apply`` sends), else the
    same computation ``intent plan`` makes, against ``running`` (a refusal, such as a port to take
    over, is a DriverError naming the device)."""
    if plan is not None:
        return plan
    try:
        computed = cli_device_plan(config, running)
    except ValueError as exc:
        raise DriverError(config.device, f"cannot plan against the running config: {exc}") from None
    # its masked secret lines restored from ``running``, as apply restores a plan's
    return to_send(computed, config, running, hashlib.sha256(running.encode()).hexdigest())


def satisfied(config: DeviceConfig, running: str) -> bool:
    """True when ``running`` already holds everything intent wants: the verification after a commit."""
    syntax = platform_spec(config.platform).syntax
    assert syntax is not None, config.platform
    effective = Inheritance.of(running, syntax).effective(cliconfig.parse(running, syntax), syntax)  # Junos groups
    return cliconfig.holds(effective, cliconfig.parse(config.text, syntax), syntax)


VOLATILE = re.compile(r"^(Building configuration|Current configuration :|! ?Last configuration change|!Time:|"
                      r"!Running configuration last done|! ?NVRAM config last updated)")


def same_config(a: str, b: str, platform: str) -> bool:
    """Two configurations are the same apart from comments, blank lines and the dump's own header."""
    syntax = platform_spec(platform).syntax
    assert syntax is not None

    def content(text: str) -> list[list[str]]:
        return [n.lines(0, syntax.style, trivia=False) for n in cliconfig.parse(text, syntax)
                if n.text and not VOLATILE.match(n.text)]

    return content(a) == content(b)
