"""The engine's errors: one tree, so callers can catch as broadly or narrowly as they need.

    IntentError
    ├── ValidationError        bad input; carries every problem with FILE:LINE:COL and JSON path
    ├── TopologyError          the network cannot carry an intent (no path, conflicting use of a link)
    ├── AdmissionError         guarantees over-subscribe a link; names device, interface and intents
    ├── RenderError            a template failed for a device
    └── DriverError            anything that went wrong talking to a device (raised by drivers/)
        ├── ConnectError
        ├── CommitError
        └── RollbackError

Every message is written for the network engineer reading it, never a Python repr.
"""

from __future__ import annotations

from engine.frozen import frozen


@frozen
class Location:
    """Where in which file a value was written (1-based line and column) and its JSON path."""

    file: str
    line: int
    col: int
    json_path: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class IntentError(Exception):
    """Root of every error the engine raises on purpose."""


class ValidationError(IntentError):
    """One or more input problems, each at a location; all of them are reported in one run."""

    def __init__(self, problems: list[tuple[Location, str]]) -> None:
        self.problems = sorted(set(problems), key=lambda p: (p[0].file, p[0].line, p[0].col, p[1]))
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem, always: a line break inside a message (from a hostile name) is escaped."""
        return [f"{where}: {message}".replace("\r", "\\r").replace("\n", "\\n") for where, message in self.problems]


class TopologyError(IntentError):
    """The topology cannot carry what an intent asks (no path between endpoints, conflicting link use)."""


class AdmissionError(IntentError):
    """Guaranteed rates exceed what a link may reserve; one message per over-subscribed interface."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("\n".join(messages))


class RenderError(IntentError):
    """A platform template failed for a device."""


class DriverError(IntentError):
    """A device could not be read or changed; always names the device."""

    def __init__(self, device: str, message: str) -> None:
        self.device = device
        super().__init__(f"{device}: {message}")


class ConnectError(DriverError):
    """The device could not be reached or refused the login."""


class CommitError(DriverError):
    """The device refused or failed the change."""


class RollbackError(DriverError):
    """The device could not be restored to its snapshot."""
