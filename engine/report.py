"""Plans as text for terminals, markdown for code review, JSON for pipelines. Pure string building."""

from __future__ import annotations

from engine.plan import Plan
from engine.units import format_bps


def _table(header: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    fmt = indent + "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header).rstrip(), *(fmt.format(*row).rstrip() for row in rows)]


def _counts(diff: str) -> tuple[int, int]:
    """Lines added and removed in a unified diff (``---``/``+++`` headers not counted)."""
    if diff.isascii() and not any(char in diff for char in _ASCII_BREAKS):  # lines end at "\n" only:
        # counted in C, without splitting (a line starts the text or follows a "\n")
        added = diff.count("\n+") - diff.count("\n+++") + (diff.startswith("+") and not diff.startswith("+++"))
        removed = diff.count("\n-") - diff.count("\n---") + (diff.startswith("-") and not diff.startswith("---"))
        return added, removed
    lines = diff.splitlines()
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return added, removed


_ASCII_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e"  # where str.splitlines ends a line in ASCII text, besides "\n"


def summary_line(plan: Plan) -> str:
    changed = [name for name, device in plan.devices.items() if device.changed]
    if not changed:
        return f"Site {plan.site}: no changes; {len(plan.devices)} devices match their intents."
    return f"Site {plan.site}: {len(changed)} of {len(plan.devices)} devices to change ({', '.join(changed)})."


def reservation_rows(plan: Plan) -> list[list[str]]:
    return [
        [r.device, r.interface, format_bps(r.capacity_bps), format_bps(r.reservable_bps), format_bps(r.reserved_bps),
         format_bps(r.reservable_bps - r.reserved_bps), ", ".join(r.intents)]
        for r in plan.reservations
    ]


RESERVATION_HEADER = ["DEVICE", "INTERFACE", "CAPACITY", "RESERVABLE", "RESERVED", "HEADROOM", "INTENTS"]


def plan_text(plan: Plan) -> str:
    out = [f"Plan for site {plan.site}" + (f" (running state from {plan.source})" if plan.source else ""), ""]
    out.append("Intents")
    out += _table(["NAME", "KIND", "WHAT", "CHANGES ON"], [
        [i.name, i.kind, i.summary, ", ".join(i.changed_devices) or "-"] for i in plan.intents
    ])
    out.append("")
    out.append("Reservations (every egress interface of every equal-cost path, both directions)")
    out += _table(RESERVATION_HEADER, reservation_rows(plan)) if plan.reservations else ["  none"]
    out.append("")
    out.append("Devices")
    for name, device in sorted(plan.devices.items()):
        added, removed = _counts(device.diff)
        state = f"{added} lines to add, {removed} to remove" if device.changed else "no changes"
        out.append(f"  {name} ({device.platform}{', fresh' if device.fresh else ''}): {state}")
        for note in device.notes:
            out.append(f"    note: {note}")
    for _, device in sorted(plan.devices.items()):
        if device.changed:
            out += ["", device.diff.rstrip("\n")]
    out += ["", summary_line(plan)]
    return "\n".join(out) + "\n"


def plan_markdown(plan: Plan, diagram: str = "") -> str:
    """The PR comment. ``diagram``: a Mermaid block of the changed devices (engine.graph.plan_mermaid)."""
    out = [f"### intent plan: site `{plan.site}`", "", f"**{summary_line(plan)}**", ""]
    if diagram:
        out += ["#### What changes, on the topology", "", diagram.rstrip("\n"), ""]
    out += ["#### Intents", "", "| intent | kind | what | changes on |", "|---|---|---|---|"]
    out += [f"| `{i.name}` | {i.kind} | {i.summary} | {', '.join(i.changed_devices) or '—'} |" for i in plan.intents]
    out += ["", "#### Reservations", ""]
    if plan.reservations:
        out += ["| " + " | ".join(h.lower() for h in RESERVATION_HEADER) + " |", "|" + "---|" * len(RESERVATION_HEADER)]
        out += ["| " + " | ".join(row) + " |" for row in reservation_rows(plan)]
    else:
        out.append("No guarantees reserve bandwidth.")
    out += ["", "#### Devices", ""]
    for name, device in sorted(plan.devices.items()):
        added, removed = _counts(device.diff)
        if not device.changed:
            out.append(f"- `{name}` ({device.platform}): no changes")
            continue
        notes = "".join(f"<br>{note}" for note in device.notes)
        out += [
            "<details>",
            f"<summary><code>{name}</code> ({device.platform}): +{added} −{removed}{notes}</summary>",
            "",
            "```diff",
            device.diff.rstrip("\n"),
            "```",
            "</details>",
        ]
    return "\n".join(out) + "\n"
