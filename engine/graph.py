"""Pictures of a site: the topology, each link's bandwidth, what is reserved per direction and by whom.

``site_view()`` gathers what to draw (compiles, no I/O); ``dot()`` writes Graphviz source and
``render()`` lays it out with Graphviz's ``dot`` program (svg, png); ``mermaid()`` writes Mermaid,
which GitHub and GitLab render in comments. ``plan_mermaid()`` is the small diagram a markdown
plan embeds: the devices the plan changes, their neighbours, and a count of the rest.

Colours are the headroom of each direction: green up to 70% of what may be reserved there, amber
above, red when admission control refuses it (over-reserved), grey when nothing is reserved.
A refused site still draws, so the over-reserved link is the red one.
"""

from __future__ import annotations

import html
import re
from enum import StrEnum

from engine.build import Segment, segments
from engine.compiler import build_site
from engine.errors import IntentError
from engine.frozen import frozen
from engine.model import Intent, Link, Site
from engine.plan import Plan
from engine.units import format_bps
from intents.registry import Registry

AMBER_AT = 0.70  # reserved share of the reservable bandwidth above which a direction is amber
FONT = "DejaVu Sans"  # named, so the layout (text widths) is the same on every machine that has it
PLAN_DIAGRAM_LIMIT = 24  # devices a markdown plan's diagram shows at most

ROLE_ORDER = ("core", "gateway", "spine", "distribution", "transit", "leaf", "access", "edge")


class Headroom(StrEnum):
    NONE = "none"  # nothing reserved
    OK = "ok"
    HIGH = "high"  # over AMBER_AT of the reservable bandwidth
    REFUSED = "refused"  # over the reservable bandwidth: admission control refuses the site


COLOURS = {Headroom.NONE: "#8a8a8a", Headroom.OK: "#2e7d32", Headroom.HIGH: "#e69500", Headroom.REFUSED: "#c62828"}
SEVERITY = (Headroom.NONE, Headroom.OK, Headroom.HIGH, Headroom.REFUSED)


@frozen
class Direction:
    """One direction of a link: the egress interface of ``sender`` towards ``receiver``."""

    sender: str
    interface: str
    receiver: str
    capacity_bps: int
    reservable_bps: int
    reserved_bps: int = 0
    intents: tuple[str, ...] = ()
    amounts: tuple[int, ...] = ()  # bps per intent, in the order of ``intents`` (empty when unknown)
    highlighted: bool = False

    @property
    def headroom(self) -> Headroom:
        if not self.intents:
            return Headroom.NONE
        if self.reserved_bps > self.reservable_bps:
            return Headroom.REFUSED
        return Headroom.HIGH if self.reserved_bps > AMBER_AT * self.reservable_bps else Headroom.OK

    def summary(self) -> str:
        """``core1 eth1 → acc1: 120Mbps of 900Mbps (13%)``."""
        head = f"{self.sender} {self.interface} → {self.receiver}"
        if not self.intents:
            return f"{head}: nothing reserved"
        share = self.reserved_bps / self.reservable_bps if self.reservable_bps else 1.0
        text = f"{head}: {format_bps(self.reserved_bps)} of {format_bps(self.reservable_bps)} ({share:.0%})"
        if self.headroom is Headroom.REFUSED:
            text += f" REFUSED, over by {format_bps(self.reserved_bps - self.reservable_bps)}"
        return text

    def holders(self) -> str:
        """``video-10-20 100Mbps, voice-to-servers 20Mbps``."""
        if self.amounts:
            return ", ".join(f"{name} {format_bps(bps)}" for name, bps in zip(self.intents, self.amounts, strict=True))
        return ", ".join(self.intents)


@frozen
class LinkView:
    link: Link
    forward: Direction  # a -> b
    backward: Direction  # b -> a

    @property
    def headroom(self) -> Headroom:
        return max(self.forward.headroom, self.backward.headroom, key=SEVERITY.index)

    @property
    def directions(self) -> tuple[Direction, Direction]:
        return self.forward, self.backward


@frozen
class DeviceView:
    name: str
    platform: str
    role: str
    gateway_of: tuple[int, ...] = ()  # VLAN ids this device routes
    highlighted: bool = False  # on a highlighted path
    gateway: bool = False  # a gateway of the highlighted intent
    changed: bool | None = None  # in a plan's diagram: does the plan change it


@frozen
class SiteView:
    site: str
    devices: tuple[DeviceView, ...]
    links: tuple[LinkView, ...]
    refusals: tuple[str, ...] = ()
    intent: str | None = None

    def device(self, name: str) -> DeviceView:
        return next(d for d in self.devices if d.name == name)


# -- what to draw ----------------------------------------------------------------------------------


def _segments(site: Site) -> list[Segment]:
    """The intents that are routed segments (engine.build.Segment: the vlan kind's, or any kind's
    that has their shape), so that the drawing names no kind."""
    return segments(site.intents)


def roles(site: Site) -> dict[str, str]:
    """Each device's role: its inventory variable ``role``, else gateway (routes a VLAN), access (has
    access ports) or transit."""
    segments = _segments(site)
    gateways = {segment.gateway for segment in segments}
    access = {port.device for segment in segments for port in segment.access}
    result = {}
    for name, device in sorted(site.devices.items()):
        explicit = dict(device.extra).get("role")
        result[name] = str(explicit) if explicit else "gateway" if name in gateways else \
            "access" if name in access else "transit"
    return result


def _role_key(role: str) -> tuple[int, str]:
    return (ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER), role)


def _vlans_of(intent: Intent) -> set[int]:
    """The VLAN ids an intent names, whatever its kind (``id`` of a VLAN, ``vlan``, ``vlans``)."""
    if isinstance(intent, Segment):
        return {intent.id}
    found: set[int] = set()
    single = getattr(intent, "vlan", None)
    if isinstance(single, int):
        found.add(single)
    several = getattr(intent, "vlans", None)
    if isinstance(several, (tuple, list)):
        found.update(v for v in several if isinstance(v, int))
    return found


def _gateways(site: Site) -> dict[int, str]:
    return {segment.id: segment.gateway for segment in _segments(site)}


def site_view(site: Site, intent: str | None = None, registry: Registry | None = None) -> SiteView:
    """The topology with every reservation per direction; ``intent`` highlights that intent's paths
    (every equal-cost path, both directions) and its gateways. Raises IntentError for an unknown intent."""
    build = build_site(site, registry)
    ledger = build.reserved_by()
    hops: set[tuple[str, str]] = set()
    gateways: set[str] = set()
    if intent is not None:
        chosen = next((i for i in site.intents if i.name == intent), None)
        if chosen is None:
            known = ", ".join(i.name for i in site.intents)
            raise IntentError(f"--intent {intent}: no intent of that name in site {site.name} (it has: {known})")
        hops = {key for key, entries in ledger.items() if any(name == intent for name, _ in entries)}
        hops.update(build.route_hops(intent))
        if isinstance(chosen, Segment):
            for index, vids in build.l2_links.items():
                if chosen.id in vids:
                    link = site.links[index]
                    hops.update({(link.a.device, link.a.interface), (link.b.device, link.b.interface)})
        by_vlan = _gateways(site)
        gateways = {by_vlan[vid] for vid in _vlans_of(chosen) if vid in by_vlan}

    def direction(link: Link, sender: str) -> Direction:
        local, remote = link.local(sender), link.other(sender)
        entries = ledger.get((sender, local.interface), ())
        return Direction(sender, local.interface, remote.device, link.bandwidth_bps, build.reservable(link.bandwidth_bps),
                         sum(bps for _, bps in entries), tuple(n for n, _ in entries), tuple(b for _, b in entries),
                         (sender, local.interface) in hops)

    links = tuple(LinkView(link, direction(link, link.a.device), direction(link, link.b.device)) for link in site.links)
    on_path = {d.sender for lv in links for d in lv.directions if d.highlighted} | \
              {d.receiver for lv in links for d in lv.directions if d.highlighted}
    return SiteView(site.name, _devices(site, on_path | gateways, gateways), links, build.refusals(), intent)


def _devices(site: Site, highlighted: set[str], gateways: set[str],
             changed: dict[str, bool] | None = None) -> tuple[DeviceView, ...]:
    role_of = roles(site)
    routes: dict[str, list[int]] = {}
    for vid, gateway in sorted(_gateways(site).items()):
        routes.setdefault(gateway, []).append(vid)
    return tuple(
        DeviceView(name, device.platform, role_of[name], tuple(routes.get(name, ())), name in highlighted,
                   name in gateways, None if changed is None else changed.get(name, False))
        for name, device in sorted(site.devices.items())
    )


def plan_view(site: Site, plan: Plan) -> SiteView:
    """What a plan reserves and changes, drawn on the site's topology (no compilation: from the plan)."""
    reservations = {(r.device, r.interface): r for r in plan.reservations}

    def direction(link: Link, sender: str) -> Direction:
        local, remote = link.local(sender), link.other(sender)
        found = reservations.get((sender, local.interface))
        if found is None:
            return Direction(sender, local.interface, remote.device, link.bandwidth_bps, link.bandwidth_bps)
        return Direction(sender, local.interface, remote.device, found.capacity_bps, found.reservable_bps,
                         found.reserved_bps, found.intents)

    links = tuple(LinkView(link, direction(link, link.a.device), direction(link, link.b.device)) for link in site.links)
    changed = {name: device.changed for name, device in plan.devices.items()}
    return SiteView(site.name, _devices(site, set(), set(), changed), links)


# -- Graphviz ----------------------------------------------------------------------------------------


def _legend(view: SiteView) -> str:
    swatch = " &#160; ".join(f'<font color="{COLOURS[h]}">■ {text}</font>' for h, text in (
        (Headroom.OK, f"reserved ≤ {AMBER_AT:.0%} of reservable"), (Headroom.HIGH, f"over {AMBER_AT:.0%}"),
        (Headroom.REFUSED, "refused (over-reserved)"), (Headroom.NONE, "nothing reserved")))
    reserved = sum(1 for lv in view.links for d in lv.directions if d.intents)
    lines = [f"<b>site {html.escape(view.site)}</b>: {len(view.devices)} devices, {len(view.links)} links, "
             f"{reserved} reserved egress interfaces", swatch]
    if view.intent:
        lines.append(f"bold arrows: every equal-cost path of <b>{html.escape(view.intent)}</b>, each direction; "
                     "double border: its gateways")
    over = [f"{d.sender} {d.interface}" for lv in view.links for d in lv.directions if d.headroom is Headroom.REFUSED]
    if over:
        lines.append(f'<font color="{COLOURS[Headroom.REFUSED]}"><b>REFUSED</b>: over-reserved on '
                     f"{html.escape(', '.join(over))}</font>")
    return "<" + "<br/>".join(lines) + ">"


def _node_label(device: DeviceView) -> str:
    detail = device.platform + (f" · gateway of VLAN {', '.join(map(str, device.gateway_of))}" if device.gateway_of else "")
    return f'<<b>{html.escape(device.name)}</b><br/><font point-size="10">{html.escape(detail)}</font>>'


def _edge_label(view: LinkView) -> str:
    lines = [f"<b>{format_bps(view.link.bandwidth_bps)}</b>"]
    for d in view.directions:
        colour = COLOURS[d.headroom]
        text = html.escape(d.summary())
        lines.append(f'<font color="{colour}">{"<b>" + text + "</b>" if d.highlighted else text}</font>')
        if d.intents:
            lines.append(f'<font color="{colour}" point-size="9">{html.escape(d.holders())}</font>')
    return "<" + "<br/>".join(lines) + ">"


def dot(view: SiteView) -> str:
    """Graphviz source: devices in one cluster per role, one edge per link. Deterministic."""
    import graphviz

    graph = graphviz.Graph(
        name=view.site,
        graph_attr={"rankdir": "TB", "fontname": FONT, "fontsize": "11", "labelloc": "b", "label": _legend(view),
                    "nodesep": "0.6", "ranksep": "0.9", "pad": "0.3"},
        node_attr={"fontname": FONT, "fontsize": "12", "shape": "box", "style": "rounded,filled",
                   "fillcolor": "#f5f5f5", "color": "#455a64"},
        edge_attr={"fontname": FONT, "fontsize": "10", "penwidth": "1.6"},
    )
    by_role: dict[str, list[DeviceView]] = {}
    for device in view.devices:
        by_role.setdefault(device.role, []).append(device)
    for role in sorted(by_role, key=_role_key):
        with graph.subgraph(name=f"cluster_{_ident(role)}") as cluster:
            cluster.attr(label=f"<<b>{html.escape(role)}</b>>", style="rounded,dashed", color="#90a4ae", labelloc="t", labeljust="l",
                         fontname=FONT, fontsize="11")
            for device in by_role[role]:
                attrs = {"label": _node_label(device)}
                if device.gateway:
                    attrs.update(peripheries="2", fillcolor="#bbdefb", penwidth="2")
                elif device.highlighted:
                    attrs.update(fillcolor="#e3f2fd", penwidth="2")
                if device.changed:
                    attrs.update(fillcolor="#fff3e0", penwidth="2")
                cluster.node(device.name, **attrs)
    for lv in view.links:
        attrs = {"label": _edge_label(lv), "color": COLOURS[lv.headroom]}
        forward, backward = lv.forward.highlighted, lv.backward.highlighted
        if forward or backward:
            attrs.update(penwidth="4", dir="both" if forward and backward else "forward" if forward else "back",
                         arrowhead="normal" if forward else "none", arrowtail="normal" if backward else "none")
        elif view.intent:
            attrs.update(style="dashed", penwidth="1")
        graph.edge(lv.link.a.device, lv.link.b.device, **attrs)
    return str(graph.source)


_GENERATOR = re.compile(r"^<!-- Generated by graphviz version .*?-->\n", re.MULTILINE | re.DOTALL)


def render(view: SiteView, output_format: str) -> bytes:
    """svg or png, laid out by Graphviz's dot program. SVG loses the generator comment (its version)."""
    import graphviz

    try:
        data: bytes = graphviz.Source(dot(view)).pipe(format=output_format)
    except graphviz.ExecutableNotFound:
        raise IntentError("Graphviz's dot program is not installed: apt-get install graphviz (make install does)") \
            from None
    except graphviz.CalledProcessError as exc:
        raise IntentError(f"Graphviz failed: {exc.stderr.decode(errors='replace').strip()}") from None
    if output_format == "svg":
        data = _GENERATOR.sub("", data.decode()).encode()
    return data


def _ident(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


# -- Mermaid ----------------------------------------------------------------------------------------


def _m(text: str) -> str:
    """Text inside a quoted Mermaid label."""
    return text.replace("&", "&amp;").replace('"', "#quot;").replace("<", "&lt;").replace(">", "&gt;")


def mermaid(view: SiteView, only: set[str] | None = None) -> str:
    """A Mermaid flowchart (GitHub and GitLab render it): one subgraph per role, links labelled."""
    shown = [d for d in view.devices if only is None or d.name in only]
    ids: dict[str, str] = {}
    for device in shown:
        base = "d_" + _ident(device.name)
        ident = base
        while ident in ids.values():
            ident += "_"
        ids[device.name] = ident
    out = ["flowchart TB"]
    by_role: dict[str, list[DeviceView]] = {}
    for device in shown:
        by_role.setdefault(device.role, []).append(device)
    for role in sorted(by_role, key=_role_key):
        out.append(f'  subgraph role_{_ident(role)}["{_m(role)}"]')
        for device in by_role[role]:
            detail = device.platform + (f", gateway of VLAN {', '.join(map(str, device.gateway_of))}"
                                        if device.gateway_of else "")
            if device.changed is not None:
                detail += ", changes" if device.changed else ", unchanged"
            out.append(f'    {ids[device.name]}["{_m(device.name)}<br/>{_m(detail)}"]')
        out.append("  end")
    styles = []
    drawn = [lv for lv in view.links if lv.link.a.device in ids and lv.link.b.device in ids]
    for number, lv in enumerate(drawn):
        parts = [format_bps(lv.link.bandwidth_bps)]
        for d in lv.directions:
            if d.intents:
                parts.append(f"{d.sender} → {d.receiver} {format_bps(d.reserved_bps)}: {d.holders()}" +
                             (" REFUSED" if d.headroom is Headroom.REFUSED else ""))
        highlighted = lv.forward.highlighted or lv.backward.highlighted
        arrow = "<==>" if lv.forward.highlighted and lv.backward.highlighted else "==>" if lv.forward.highlighted \
            else "---"
        a, b = ids[lv.link.a.device], ids[lv.link.b.device]
        if lv.backward.highlighted and not lv.forward.highlighted:
            a, b, arrow = b, a, "==>"
        label = "<br/>".join(_m(p) for p in parts)
        out.append(f'  {a} {arrow}|"{label}"| {b}')
        styles.append(f"  linkStyle {number} stroke:{COLOURS[lv.headroom]},stroke-width:{4 if highlighted else 2}px")
    out += styles
    out += ["  classDef changed fill:#fff3e0,stroke:#e69500", "  classDef gateway fill:#bbdefb,stroke:#1565c0"]
    for kind, members in (("changed", [d for d in shown if d.changed]), ("gateway", [d for d in shown if d.gateway])):
        if members:
            out.append(f"  class {','.join(ids[d.name] for d in members)} {kind}")
    return "\n".join(out) + "\n"


def plan_mermaid(site: Site, plan: Plan, limit: int = PLAN_DIAGRAM_LIMIT) -> str:
    """The markdown plan's diagram: changed devices and their neighbours (at most ``limit``), the
    reservations on their links, and how many devices are left out."""
    view = plan_view(site, plan)
    changed = [d.name for d in view.devices if d.changed]
    if not changed:
        return ""
    changing = set(changed)  # one pass over the links (a pass per changed device was links x devices)
    neighbours = sorted({lv.link.other(name).device for lv in view.links
                         for name in (lv.link.a.device, lv.link.b.device) if name in changing} - changing)
    shown = (changed + neighbours)[:limit]
    rest = len(view.devices) - len(shown)
    text = "```mermaid\n" + mermaid(view, set(shown)) + "```\n"
    if rest:
        hidden_changes = len(set(changed) - set(shown))
        why = f"{hidden_changes} of them changed" if hidden_changes else "unchanged and not next to a change"
        text += f"\n_{rest} more device{'s' if rest != 1 else ''} not drawn ({why})._\n"
    return text
