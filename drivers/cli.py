"""What the vendor drivers share: the change to a CLI device computed from running and desired
config by the engine's own merge (only what intent owns changes), and its verification."""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine import cliconfig
from engine.plan import unified
from engine.render import DeviceConfig, platform_spec
from engine.secrets import mask


@dataclass(frozen=True)
class CliChange:
    running: str
    merged: str  # the whole configuration after the change, as the device will show it
    commands: tuple[str, ...]  # what to send, definitions before uses, removals last
    undo: tuple[str, ...]  # what sends it back

    def diff(self, device: str) -> str:
        return mask(unified(self.running.splitlines(), self.merged.splitlines(), device))


def change(config: DeviceConfig, running: str) -> CliChange:
    syntax = platform_spec(config.platform).syntax
    assert syntax is not None, config.platform
    before = cliconfig.parse(running, syntax)
    desired = cliconfig.parse(config.text, syntax)
    after = cliconfig.merge(before, desired, syntax)
    return CliChange(
        cliconfig.render(before, syntax), cliconfig.render(after, syntax),
        tuple(cliconfig.remediation(before, after, syntax, order=desired)),
        tuple(cliconfig.remediation(after, before, syntax)),
    )


def satisfied(config: DeviceConfig, running: str) -> bool:
    """True when ``running`` already holds everything intent wants: the verification after a commit."""
    return not change(config, running).commands


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
