"""What apply sends: exactly the plan's commands, with the secrets the plan masks restored from the device.

A plan, in memory or in its file, never holds a secret in clear: a command line the masker changes
is kept masked (``username netops secret 9 <masked>``), and the plan records for it a *hidden line*:
which line of the configurations the plan was computed from it comes from (the running config,
whose SHA-256 the plan also holds, or the desired config), and a verifier of the real line.

At apply, once the device's running config hashes to what was planned (else the apply is refused),
each hidden line is rebuilt from that source line, and sent only if it matches the masked line's
shape and its verifier. Every other command goes from the plan to the device byte for byte.

The verifier is HMAC-SHA256 keyed with INTENT_PLAN_KEY when it is set, else scrypt (n=2^14, r=8,
p=1) salted with the device, its planned running hash and the line's place: a plan file lets nobody
test guesses of a secret cheaply, and a verifier cannot be forged for a line whose secret one does
not know, so an edited plan cannot move a secret into another command.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from engine import cliconfig, remediate, takeover
from engine.errors import IntentError
from engine.frozen import frozen
from engine.render import platform_spec
from engine.secrets import MASK

SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # RFC 7914's interactive-login cost: ~0.1-0.2 s a line here
_HEADS = ("no ", "default ", "set ", "delete ", "deactivate ", "activate ")


@frozen
class HiddenLine:
    """Command ``line`` of a device plan is stored masked; ``source`` is the line of the configurations
    planned from (``sources()``) it is rebuilt from; ``verifier`` checks the rebuilt line
    (``""``: the plan could not find its source, so it cannot be applied)."""

    line: int
    source: int
    verifier: str

    def as_dict(self) -> dict[str, int | str]:
        return {"line": self.line, "source": self.source, "verifier": self.verifier}


def sources(platform: str, running: str, desired: str) -> list[str]:
    """The lines a command can come from, in one fixed order: the running config as hier_config reads
    it (Junos apply-groups expanded, as planned), then as parsed, the desired config, then both as
    written. The same texts give the same list, always."""
    syntax = platform_spec(platform).syntax
    assert syntax is not None
    found: dict[str, None] = {}
    effective = takeover.Inheritance.of(running, syntax).effective(cliconfig.parse(running, syntax), syntax)
    for nodes in (effective, cliconfig.parse(running, syntax), cliconfig.parse(desired, syntax)):
        for line in remediate.content(nodes, syntax).splitlines():
            found.setdefault(line, None)
    for text in (running, desired):
        for line in text.splitlines():
            found.setdefault(line.rstrip(), None)
    return list(found)


def _split(text: str) -> tuple[str, str]:
    """(head, body): the indentation and a negation or set/delete word, then the statement itself."""
    stripped = text.lstrip()
    cut = len(text) - len(stripped)
    for word in _HEADS:
        if stripped.startswith(word):
            cut += len(word)
            break
    return text[:cut], text[cut:]


def _shape(masked: str) -> re.Pattern[str] | None:
    head, body = _split(masked)
    if MASK in head or MASK not in body:
        return None
    return re.compile("(.+?)".join(re.escape(part) for part in body.split(MASK)))


def _rebuilt(masked: str, source: str, shape: re.Pattern[str] | None) -> str | None:
    """The command ``masked`` (of ``shape``) stands for if it was made from ``source``; None if it cannot be."""
    body = _split(source)[1]
    if shape is None or not shape.fullmatch(body):
        return None
    return _split(masked)[0] + body


def verifier(device: str, running_sha256: str | None, line: int, text: str, key: str | None) -> str:
    """HMAC-SHA256 of the line and its place with ``key``; without a key, scrypt salted with its place."""
    place = "\0".join(("intent hidden line", device, running_sha256 or "", str(line))).encode()
    if key:
        return "hmac-sha256:" + hmac.new(key.encode(), place + b"\0" + text.encode(), hashlib.sha256).hexdigest()
    salt = hashlib.sha256(place).digest()
    return "scrypt:" + hashlib.scrypt(text.encode(), salt=salt, dklen=32, **SCRYPT).hex()


def hide(device: str, running_sha256: str | None, real: tuple[str, ...], masked: tuple[str, ...],
         lines: list[str], key: str | None) -> tuple[HiddenLine, ...]:
    """A HiddenLine for every command the masker changed, found in ``lines`` (``sources()``)."""
    hidden = []
    for index, (text, shown) in enumerate(zip(real, masked, strict=True)):
        if text == shown:
            continue
        shape = _shape(shown)
        source = next((at for at, line in enumerate(lines) if _rebuilt(shown, line, shape) == text), -1)
        hidden.append(HiddenLine(index, source, verifier(device, running_sha256, index, text, key)
                                 if source >= 0 else ""))
    return tuple(hidden)


def unrestorable_note(hidden: tuple[HiddenLine, ...], masked: tuple[str, ...]) -> list[str]:
    """What the plan says of lines it cannot restore at apply (their secret is in neither config)."""
    return [f"command {h.line + 1} ({masked[h.line].strip()!r}) holds a secret found in neither the running nor the "
            "desired config: this plan cannot be applied" for h in hidden if not h.verifier]


def restore(device: str, running_sha256: str | None, commands: tuple[str, ...], hidden: tuple[HiddenLine, ...],
            lines: list[str], key: str | None) -> tuple[str, ...]:
    """The commands to send: ``commands`` with every hidden line rebuilt from ``lines`` and verified.
    Raises IntentError naming the device and the (masked) line when one does not verify."""
    out = list(commands)
    for item in hidden:
        if not 0 <= item.line < len(commands):
            raise IntentError(f"{device}: the plan hides command {item.line + 1}, but it has {len(commands)}")
        shown = commands[item.line]
        what = f"{device}: command {item.line + 1} ({shown.strip()!r})"
        if not item.verifier:
            raise IntentError(f"{what} holds a masked secret the plan has no verified way to restore (not found in "
                              "the running or desired config, or an intent-plan/2 file); refusing to apply it: plan again")
        if item.verifier.startswith("hmac-sha256:") and not key:
            raise IntentError(f"{what}: its secret was planned with INTENT_PLAN_KEY set; set it to apply this plan")
        rebuilt = _rebuilt(shown, lines[item.source], _shape(shown)) if 0 <= item.source < len(lines) else None
        if rebuilt is None or not hmac.compare_digest(item.verifier,
                                                      verifier(device, running_sha256, item.line, rebuilt, key)):
            raise IntentError(f"{what}: the secret restored from the device does not match the plan's verifier "
                              "(the plan was edited, or made with another INTENT_PLAN_KEY); refusing to apply it")
        out[item.line] = rebuilt
    return tuple(out)
