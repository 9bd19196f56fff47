"""Linux desired state: a document of kernel objects the driver applies over netlink.

The document is plain JSON-able data (``links``, ``addresses``, ``sysctl``, ``routes``, ``rules``,
``nftables``, ``qdiscs``, ``classes``, ``filters``), each object with a stable key. The same document read back from a
device (``--running DIR/<device>.json``) is compared object by object; ``lines()`` gives the
canonical ``ip``/``tc`` form that humans read in diffs and code review.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from operator import itemgetter
from typing import Any

from engine.device import DeviceModel, EgressPolicy, Match, PortMode
from engine.errors import RenderError
from intents.match import port_masks

SECTIONS = ("sysctl", "links", "addresses", "routes", "rules", "nftables", "qdiscs", "classes", "filters")
IFNAMSIZ = 15
DEFAULT_MINOR = 2
ROOT_MINOR = 1
# qos_share: the default class's leaf is a share tree with this handle (drr, or htb without drr).
SHARE_MAJOR = 2
SHARE_OTHER_MINOR = 2  # traffic of VLANs without a weight: weight 1
SHARE_MINOR_BASE = 0x4000  # a shared VLAN's class minor is this + its VLAN id (above every guarantee's)
DRR_QUANTUM = 1514  # bytes per round per unit of weight
# isolate: policy-routing rules, exceptions first. Prefs derive from the intent's stable minor.
ALLOW_PREF, PROHIBIT_PREF = 100, 16400
PROTOCOL_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 132: "sctp"}
# isolate where the kernel has nftables: one table intent owns whole, with one forward chain.
NFT_TABLE = "inet intent_isolate"
NFT_CHAIN = "forward"
NFT_HOOK = "type filter hook forward priority filter; policy accept;"


def bridge(vlan: int) -> str:
    return f"br{vlan}"


def ifb(vlan: int) -> str:
    return f"ifb{vlan}"


def desired_state(model: DeviceModel, kernel: dict[str, Any] | None = None) -> dict[str, Any]:
    """The kernel objects that realise ``model`` on a Linux device.

    ``kernel``: what the device's kernel has, probed at plan time (``{"drr": True, "nftables": True}``);
    without it, the objects every kernel here has (shares as HTB classes, isolation as policy-routing rules)."""
    kernel = kernel or {}
    links: dict[str, dict[str, Any]] = {}
    addresses: list[dict[str, Any]] = []
    qdiscs: list[dict[str, Any]] = []
    classes: list[dict[str, Any]] = []
    filters: list[dict[str, Any]] = []

    def link(name: str, kind: str | None = None, parent: str | None = None, vlan_id: int | None = None,
             master: str | None = None) -> None:
        if len(name) > IFNAMSIZ:
            raise RenderError(f"{model.name}: interface name {name!r} is longer than Linux allows ({IFNAMSIZ})")
        links[name] = {"name": name, "kind": kind, "link": parent, "id": vlan_id, "master": master, "up": True}

    for vlan in model.vlans:
        link(bridge(vlan.id), "bridge")
    trunks: set[str] = set()
    access, trunk = PortMode.ACCESS, PortMode.TRUNK
    for port in model.ports:
        if port.mode is access:
            link(port.name, None, None, None, bridge(port.vlans[0]))
        elif port.mode is trunk:
            trunks.add(port.name)
            link(port.name)
            for vid in port.vlans:
                link(f"{port.name}.{vid}", "vlan", port.name, vid, bridge(vid))
        else:
            link(port.name)
            addresses.append({"dev": port.name, "address": f"{port.address}/{port.prefixlen}"})
    for svi in model.svis:
        addresses.append({"dev": bridge(svi.vlan), "address": f"{svi.address}/{svi.prefixlen}"})

    default_hex, root_parent = _hex(DEFAULT_MINOR), f"1:{ROOT_MINOR:x}"  # the same on every egress
    for policy in model.egress:
        dev = policy.interface
        # On an 802.1Q trunk the tag is in the frame when tc sees it (skb protocol 802.1Q), so the
        # filters match any protocol; the u32 keys still read the IP header, where the network
        # header points either way.
        protocol = "all" if dev in trunks else "ip"
        qdiscs.append({"dev": dev, "parent": "root", "handle": "1:", "kind": "htb", "default": default_hex})
        classes.append(_class(dev, ROOT_MINOR, "1:", policy.capacity_bps, policy.capacity_bps, None))
        shared_htb = bool(policy.shares) and not kernel.get("drr")  # the share classes take the leftover
        default_rate = MIN_SHARE_BPS if shared_htb else policy.default_rate_bps
        classes.append(_class(dev, DEFAULT_MINOR, root_parent, default_rate, policy.capacity_bps, 7))
        guarantee_filters: list[dict[str, Any]] = []
        for qos in policy.classes:
            classes.append(_class(dev, qos.minor, root_parent, qos.rate_bps, qos.ceil_bps, 0 if qos.priority else 1))
            minor = _hex(qos.minor)
            qdiscs.append({"dev": dev, "parent": f"1:{minor}", "handle": f"{minor}:", "kind": qos.queue})
            for match in qos.matches:
                guarantee_filters.extend(_u32_filters(dev, qos.minor, match, protocol))
        filters += guarantee_filters
        if policy.shares:
            tree = _share_tree(dev, policy, protocol, bool(kernel.get("drr")), guarantee_filters)
            qdiscs += tree["qdiscs"]
            classes += tree["classes"]
            filters += tree["filters"]
    for limit in model.limits:
        br, shaper = bridge(limit.vlan), ifb(limit.vlan)
        link(shaper, "ifb")
        for dev in (br, shaper):
            qdiscs.append({"dev": dev, "parent": "root", "handle": "1:", "kind": "htb", "default": _hex(ROOT_MINOR)})
            classes.append(_class(dev, ROOT_MINOR, "1:", limit.rate_bps, limit.rate_bps, None))
        qdiscs.append({"dev": br, "parent": "ingress", "handle": "ffff:", "kind": "ingress"})
        filters.append({"dev": br, "parent": "ffff:", "protocol": "ip", "pref": 1,
                        "match": [["u32", "0", "0"]], "flowid": None, "action": f"mirred egress redirect dev {shaper}"})

    routes = []
    for route in model.routes:  # loops, not nested comprehensions: a spine has a thousand routes
        nexthops = []
        for hop in route.next_hops:
            nexthops.append({"via": hop.address, "dev": hop.interface})
        routes.append({"dst": route.prefix, "nexthops": nexthops})
    nft = bool(kernel.get("nftables"))
    rules = [] if nft else _isolation_rules(model)
    tables = _isolation_table(model) if nft and model.isolations else []
    document = {
        "device": model.name,
        "platform": model.platform,
        "sysctl": {"net.ipv4.ip_forward": "1"} if model.forwarding else {},
        "links": list(links.values()),
        "addresses": addresses,
        "routes": routes,
        **({"rules": rules} if rules else {}),
        **({"nftables": tables} if tables else {}),
        "qdiscs": qdiscs,
        "classes": classes,
        "filters": filters,
    }
    return canonical(document)


def _share_tree(dev: str, policy: EgressPolicy, protocol: str, drr: bool,
                guarantee_filters: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """qos_share on one egress: one class per listed VLAN, sharing what the guarantees leave by weight.

    With ``drr``: the default class's leaf is a DRR qdisc (handle 2:), quantum = weight x 1514 bytes,
    unlisted traffic one more class of weight 1, and a catch-all filter (DRR drops what no filter
    classifies). Without: HTB classes beside the guarantees with rates in proportion to the weights
    (they split the leftover; the default class keeps a minimum) and ceil = the link: HTB holds
    assured rates closely, while how it lends spare bandwidth is not reliably by weight (measured
    here: 2:1 for weights 3:1 when the ratio rested on lending). Their filters come after every
    guarantee's, so a guarantee's traffic stays in its class."""
    filters: list[dict[str, Any]] = []
    if drr:
        major = f"{SHARE_MAJOR}:"
        weights = [(share.minor, share.weight) for share in policy.shares] + [(SHARE_OTHER_MINOR, 1)]
        qdiscs = [{"dev": dev, "parent": f"1:{_hex(DEFAULT_MINOR)}", "handle": major, "kind": "drr"}]
        classes = [{"dev": dev, "classid": f"{SHARE_MAJOR}:{_hex(minor)}", "parent": major, "kind": "drr",
                    "quantum": weight * DRR_QUANTUM} for minor, weight in weights]
        filters.append({"dev": dev, "parent": major, "protocol": "all", "pref": 0xFFFF, "match": [["u32", "0", "0"]],
                        "flowid": f"{SHARE_MAJOR}:{_hex(SHARE_OTHER_MINOR)}", "action": None})
        for share in policy.shares:
            filters.append({"dev": dev, "parent": major, "protocol": protocol, "pref": share.minor,
                            "match": [["src", share.subnet]], "flowid": f"{SHARE_MAJOR}:{_hex(share.minor)}",
                            "action": None})
        return {"qdiscs": qdiscs, "classes": classes, "filters": filters}
    spare = max(policy.default_rate_bps - MIN_SHARE_BPS, MIN_SHARE_BPS * len(policy.shares))
    total = sum(share.weight for share in policy.shares)
    first_pref = max((int(f["pref"]) for f in guarantee_filters), default=0) + 1
    if first_pref + len(policy.shares) > 0xFFFF:
        raise RenderError(f"{dev}: no filter preference is left after the guarantees' for qos_share "
                          f"{policy.shares[0].intent}; rename a guarantee (its name sets its preference)")
    classes = [_class(dev, share.minor, f"1:{ROOT_MINOR}", max(spare * share.weight // total, MIN_SHARE_BPS),
                      policy.capacity_bps, 7) for share in policy.shares]
    for index, share in enumerate(policy.shares):
        filters.append({"dev": dev, "parent": "1:", "protocol": protocol, "pref": first_pref + index,
                        "match": [["src", share.subnet]], "flowid": f"1:{_hex(share.minor)}", "action": None})
    return {"qdiscs": [], "classes": classes, "filters": filters}


MIN_SHARE_BPS = 8_000
DEFAULT_R2Q = 10


def _isolation_rules(model: DeviceModel) -> list[dict[str, Any]]:
    """isolate as policy-routing rules: per direction, the exceptions (``lookup main``: routed as
    usual) before one ``prohibit`` (the sender gets ICMP "administratively prohibited").

    Rules are stateless, so an exception passes both its forward packets (destination port) and
    the replies to ones the other side started (source port)."""
    rules: list[dict[str, Any]] = []
    for isolation in model.isolations:
        offset = isolation.minor - 0x100
        base = {"src": isolation.subnet, "dst": isolation.peer_subnet}
        for allowed in isolation.allow:
            selectors: list[dict[str, Any]] = [{}]
            if allowed.ports is not None:
                text = _range(allowed.ports)
                selectors = [{"dport": text}, {"sport": text}]
            for selector in selectors:
                rules.append({"pref": ALLOW_PREF + offset, **base, "ipproto": allowed.protocol,
                              "sport": selector.get("sport"), "dport": selector.get("dport"), "action": "lookup main"})
        rules.append({"pref": PROHIBIT_PREF + offset, **base, "ipproto": None, "sport": None, "dport": None,
                      "action": "prohibit"})
    return rules


def _isolation_table(model: DeviceModel) -> list[dict[str, Any]]:
    """isolate as an nftables table intent owns whole (``table inet intent_isolate``, chain ``forward``):
    per direction the exceptions (``accept``) before one ``reject with icmp admin-prohibited``, so the
    sender hears what a prohibit rule would have told it. Stateless like the rules (no conntrack): an
    exception passes its forward packets (destination port) and the replies to ones the other side
    started (source port). Only forwarded traffic is filtered (hook forward), as with the rules.
    Rules are written the way ``nft list table`` prints them, so what is read back compares line for line."""
    rules: list[str] = []
    for isolation in sorted(model.isolations, key=lambda i: (i.minor, i.vlan, i.peer_vlan)):
        base = f"ip saddr {isolation.subnet} ip daddr {isolation.peer_subnet}"
        for allowed in isolation.allow:
            name = PROTOCOL_NAMES.get(allowed.protocol, str(allowed.protocol))
            if allowed.ports is None:
                rules.append(f"{base} ip protocol {name} accept")
                continue
            text = _range(allowed.ports)
            rules += [f"{base} {name} dport {text} accept", f"{base} {name} sport {text} accept"]
        rules.append(f"{base} reject with icmp admin-prohibited")
    return [{"table": NFT_TABLE, "chain": NFT_CHAIN, "hook": NFT_HOOK, "rules": rules}]


def nft_script(table: dict[str, Any] | None, name: str = NFT_TABLE) -> str:
    """One ``nft -f`` transaction that makes table ``name`` exactly ``table`` (or removes it: None).

    Atomic: the table is created if absent, deleted, and made anew in the same transaction, so no
    packet ever sees half a rule set, and a table someone edited by hand is replaced whole."""
    script = f"add table {name}\ndelete table {name}\n"
    if table is None:
        return script
    body = "".join(f"    {line}\n" for line in [table["hook"], *table["rules"]])
    return f"{script}table {table['table']} {{\n  chain {table['chain']} {{\n{body}  }}\n}}\n"


def parse_nft_table(text: str) -> list[dict[str, Any]]:
    """What ``nft list table inet intent_isolate`` printed, as the ``nftables`` section ([] for no table).

    Only the first chain is read, which is all intent makes; anything else in the table (another chain,
    a set) is kept as a rule line of its own, so it shows in the diff and is replaced."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("table ") or not lines[0].endswith("{"):
        return []
    table = lines[0][len("table "):-1].strip()
    chain, hook, rules = "", "", []
    for line in lines[1:]:
        if line.startswith("chain ") and line.endswith("{") and not chain:
            chain = line[len("chain "):-1].strip()
        elif line.startswith("type ") and not hook and chain:
            hook = line
        elif line != "}":
            rules.append(_NFT_PROTOCOL.sub(_protocol_as_rendered, line))
    return [{"table": table, "chain": chain, "hook": hook, "rules": rules}]


_NFT_PROTOCOL = re.compile(r"\bip protocol (\d+)\b")


def _protocol_as_rendered(match: re.Match[str]) -> str:
    """``ip protocol 1`` (nft --numeric-protocol) as intent writes it: ``ip protocol icmp``; 115 stays 115."""
    number = int(match.group(1))
    return f"ip protocol {PROTOCOL_NAMES.get(number, number)}"


def _range(ports: tuple[int, int]) -> str:
    low, high = ports
    return str(low) if low == high else f"{low}-{high}"


def canonical(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every section in apply order; running state read from a device or a file
    comes in any order, and both sides of a diff must line up."""
    result = dict(document)
    result["links"] = sorted(document.get("links") or [], key=_link_order)
    addresses = document.get("addresses") or []
    # By device, then network: where no device has two addresses the device alone orders them.
    result["addresses"] = (sorted(addresses, key=itemgetter("dev")) if _distinct([a["dev"] for a in addresses]) else
                           sorted(addresses, key=lambda a: (a["dev"], _network_key(a["address"]))))
    result["routes"] = sorted(document.get("routes") or [], key=lambda r: _network_key(r["dst"]))
    if document.get("rules"):
        result["rules"] = sorted(document["rules"], key=_rule_order)
    if document.get("nftables"):
        result["nftables"] = sorted(document["nftables"], key=lambda table: table["table"])
    result["qdiscs"] = sorted(document.get("qdiscs") or [], key=_tc_order)
    result["classes"] = sorted(document.get("classes") or [], key=_tc_order)
    result["filters"] = sorted(document.get("filters") or [], key=_filter_order)
    return result


def _distinct(values: list[Any]) -> bool:
    try:
        return len(set(values)) == len(values)
    except TypeError:  # unhashable: a hand-edited document, sorted the long way
        return False


def _rule_order(obj: dict[str, Any]) -> tuple[Any, ...]:
    return (int(obj["pref"]), _network_key(obj.get("src") or "0.0.0.0/0"), _network_key(obj.get("dst") or "0.0.0.0/0"),
            obj.get("ipproto") or 0, obj.get("dport") or "", obj.get("sport") or "", obj.get("action") or "")


def _filter_order(obj: dict[str, Any]) -> tuple[Any, ...]:
    return (obj["dev"], obj["parent"], int(obj["pref"]), tuple(map(tuple, obj["match"])),
            obj.get("flowid") or "", obj.get("action") or "")


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_PREFIX = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?:/([0-9]+))?")
_OCTETS = {str(value): value for value in range(256)}  # the strings _OCTET matches, and their values


def _network_key(prefix: str) -> tuple[int, int]:
    """(network as an int, prefix length) of an IPv4 prefix or address, for sorting; others through
    ``ipaddress``."""
    if type(prefix) is str:
        return _string_network_key(prefix)
    return _regex_network_key(prefix)  # not a string (a hand-edited document): refused as before


def _regex_network_key(prefix: str) -> tuple[int, int]:
    """``_network_key`` by a regular expression per prefix (what it was before ``_string_network_key``;
    tests/test_render_paths.py holds the two equal)."""
    parts = _IPV4_PREFIX.fullmatch(prefix)
    if parts and (parts[5] is None or int(parts[5]) <= 32):
        prefixlen = 32 if parts[5] is None else int(parts[5])
        value = (int(parts[1]) << 24) | (int(parts[2]) << 16) | (int(parts[3]) << 8) | int(parts[4])
        return value >> (32 - prefixlen) << (32 - prefixlen), prefixlen
    network = ipaddress.ip_network(prefix, strict=False)
    return int(network.network_address), network.prefixlen


@lru_cache(maxsize=1 << 16)  # the spines of a fabric all route the leaves' subnets
def _string_network_key(prefix: str) -> tuple[int, int]:
    """``_network_key`` of a string: a dotted quad's octets looked up in ``_OCTETS`` (what ``_IPV4_PREFIX``
    matches, at a third of its cost; a spine sorts a thousand addresses and routes)."""
    address, slash, length = prefix.partition("/")
    octets = address.split(".")
    if (len(octets) == 4 and all(map(_OCTETS.__contains__, octets))
            and (not slash or (length.isascii() and length.isdigit() and int(length) <= 32))):
        prefixlen = int(length) if slash else 32
        first, second, third, fourth = map(_OCTETS.__getitem__, octets)
        value = (first << 24) | (second << 16) | (third << 8) | fourth
        return value >> (32 - prefixlen) << (32 - prefixlen), prefixlen
    network = ipaddress.ip_network(prefix, strict=False)
    return int(network.network_address), network.prefixlen


def _hex(minor: int) -> str:
    return f"{minor:x}"


def _class(dev: str, minor: int, parent: str, rate: int, ceil: int, prio: int | None, major: int = 1) -> dict[str, Any]:
    """An HTB class. The kernel keeps rates in bytes per second, so bits round down to a multiple of 8."""
    return {"dev": dev, "classid": f"{major}:{minor:x}", "parent": parent, "kind": "htb", "rate": rate // 8 * 8,
            "ceil": ceil // 8 * 8, "prio": prio}


def _u32_filters(dev: str, minor: int, match: Match, protocol: str = "ip") -> list[dict[str, Any]]:
    """One u32 filter per port block; more specific matches get lower (earlier) prefs.

    All filters of one guarantee on one interface share a pref (unique per intent), so the
    driver replaces an intent's filters as one unit; the kernel picks the u32 handles.
    """
    narrowing = (match.dscp is not None) + (match.protocol is not None) + bool(match.ports)
    pref = 0x4000 * (3 - narrowing) + minor
    keys: list[list[str]] = [["src", match.src], ["dst", match.dst]]
    if match.dscp is not None:
        keys.append(["tos", f"0x{match.dscp << 2:02x}", "0xfc"])
    if match.protocol is not None:
        keys.append(["protocol", str(match.protocol), "0xff"])
    blocks: list[tuple[int, int] | None] = [None]  # no ports: one filter (and no comprehension to run)
    if match.ports:
        blocks = [b for low, high in match.ports for b in port_masks(low, high)] or [None]
    result = []
    for block in blocks:
        port_keys = [["dport", str(block[0]), f"0x{block[1]:04x}"]] if block else []
        result.append({"dev": dev, "parent": "1:", "protocol": protocol, "pref": pref, "match": keys + port_keys,
                       "flowid": f"1:{_hex(minor)}", "action": None})
    return result


_LINK_RANK = {"bridge": 0, "ifb": 1, None: 2, "vlan": 3}


def _link_order(link: dict[str, Any]) -> tuple[int, str]:
    """Bridges and IFBs are created first, then ports are enslaved, then VLAN sub-interfaces."""
    return _LINK_RANK.get(link.get("kind"), 4), link["name"]


def _tc_order(obj: dict[str, Any]) -> tuple[Any, ...]:
    """Per device: root and ingress qdiscs, then classes and leaves by numeric class id."""
    parent = obj["parent"]
    depth = 0 if parent in ("root", "ingress") else 1
    handle = obj.get("classid") or obj.get("handle") or "0:"
    major, minor = _handle_numbers(handle) if type(handle) is str else _numbers(handle)
    return obj["dev"], depth, major, minor, parent


def _numbers(handle: str) -> tuple[int, int]:
    major, _, minor = handle.partition(":")
    return int(major or "0", 16), int(minor or "0", 16)


_handle_numbers = lru_cache(maxsize=1 << 14)(_numbers)  # "1:2710" -> (1, 0x2710): class ids repeat across devices


# -- keys, lines and scope ---------------------------------------------------------------------

def objects(document: dict[str, Any], ordered: bool = False) -> list[tuple[str, str]]:
    """(key, canonical line) for every object of a document, in apply order. ``ordered``: the document
    is in canonical order already (``desired_state`` made it), not to be sorted again."""
    if not ordered:
        document = canonical(document)
    result: list[tuple[str, str]] = []
    for name, value in sorted((document.get("sysctl") or {}).items()):
        result.append((f"sysctl {name}", f"sysctl -w {name}={value}"))
    # Plain loops, each field read once: a spine has a thousand links, addresses and routes.
    for obj in document.get("links") or []:
        name = obj["name"]
        if obj.get("kind"):
            result.append((f"create {name}", _create_line(obj)))
        state = "up" if obj.get("up", True) else "down"
        master = f" master {obj['master']}" if obj.get("master") else ""
        result.append((f"link {name}", f"ip link set {name}{master} {state}"))  # key_of's keys
    for obj in document.get("addresses") or []:
        dev, address = obj["dev"], obj["address"]
        result.append((f"address {dev} {address}", f"ip address add {address} dev {dev}"))
    for obj in document.get("routes") or []:
        hops = []
        for hop in obj["nexthops"]:
            hops.append(f"nexthop via {hop['via']} dev {hop['dev']}")
        dst = obj["dst"]
        result.append((f"route {dst}", f"ip route replace {dst} {' '.join(hops)}"))
    for obj in document.get("rules") or []:
        result.append((key_of("rules", obj), f"ip rule add {rule_text(obj)}"))
    for obj in document.get("nftables") or []:
        result.append((key_of("nftables", obj), f"nft add table {obj['table']} {{ chain {obj['chain']} {{ {obj['hook']} }} }}"))
        result += [(f"nft rule {obj['table']} {obj['chain']} {index} {rule}",
                    f"nft add rule {obj['table']} {obj['chain']} {rule}") for index, rule in enumerate(obj["rules"])]
    roots: list[dict[str, Any]] = []
    leaves: list[dict[str, Any]] = []
    for obj in document.get("qdiscs") or []:
        (roots if obj["parent"] in ("root", "ingress") else leaves).append(obj)
    for obj in roots:
        result.append(_qdisc(obj))
    # Classes of the root qdiscs, then leaf qdiscs, then the classes that live in a leaf qdisc (a
    # qos_share tree): the order they can be made in.
    root_majors = {(obj["dev"], obj["handle"].partition(":")[0]) for obj in roots}
    all_classes = document.get("classes") or []
    in_root: list[dict[str, Any]] = []
    in_leaf: list[dict[str, Any]] = []
    for obj in all_classes:
        (in_root if (obj["dev"], obj["classid"].partition(":")[0]) in root_majors else in_leaf).append(obj)
    result += [_class_line(obj) for obj in in_root]
    for obj in leaves:
        result.append(_qdisc(obj))
    result += [_class_line(obj) for obj in in_leaf]
    for obj in document.get("filters") or []:
        text = _match_text(obj)
        result.append((f"filter {obj['dev']} {obj['parent']} {obj['pref']} {text}",  # key_of, the text made once
                       f"tc filter add dev {obj['dev']} parent {obj['parent']} protocol {obj['protocol']} "
                       f"pref {obj['pref']} u32 {text}"))
    return result


def _class_line(obj: dict[str, Any]) -> tuple[str, str]:
    dev, classid = obj["dev"], obj["classid"]
    key = f"class {dev} {classid}"  # key_of("classes", obj), without its walk through the sections
    if obj["kind"] == "drr":
        return key, f"tc class replace dev {dev} parent {obj['parent']} classid {classid} drr quantum {obj['quantum']}"
    prio = f" prio {obj['prio']}" if obj.get("prio") is not None else ""
    return key, f"tc class replace dev {dev} parent {obj['parent']} classid {classid} " \
                f"htb rate {tc_rate(obj['rate'])} ceil {tc_rate(obj['ceil'])}{prio}"


def _qdisc(obj: dict[str, Any]) -> tuple[str, str]:
    key = f"qdisc {obj['dev']} {obj['parent']}"  # key_of("qdiscs", obj)
    if obj["kind"] == "ingress":
        return key, f"tc qdisc replace dev {obj['dev']} ingress"
    parent = "root" if obj["parent"] == "root" else f"parent {obj['parent']}"
    extra = f" default {obj['default']}" if obj.get("default") else ""
    extra += f" r2q {obj['r2q']}" if obj.get("r2q") else ""
    return key, f"tc qdisc replace dev {obj['dev']} {parent} handle {obj['handle']} {obj['kind']}{extra}"


def _match_text(obj: dict[str, Any]) -> str:
    """``match ip src 10.10.0.0/24 match ip dst ... flowid 1:338c``: a filter's identity and its tc form."""
    parts = []
    for key in obj["match"]:
        parts.append(f"match u32 {key[1]} {key[2]}" if key[0] == "u32" else
                     f"match ip {key[0]} {key[1]}" + (f" {key[2]}" if len(key) > 2 else ""))
    matches = " ".join(parts)
    target = f" flowid {obj['flowid']}" if obj.get("flowid") else ""
    action = f" action {obj['action']}" if obj.get("action") else ""
    return f"{matches}{target}{action}"


def _create_line(obj: dict[str, Any]) -> str:
    if obj["kind"] == "vlan":
        return f"ip link add link {obj['link']} name {obj['name']} type vlan id {obj['id']}"
    return f"ip link add {obj['name']} type {obj['kind']}"


def key_of(section: str, obj: dict[str, Any]) -> str:
    """The stable identity of one object of a section (what ``objects()`` keys it by)."""
    if section == "links":
        return f"link {obj['name']}"
    if section == "addresses":
        return f"address {obj['dev']} {obj['address']}"
    if section == "routes":
        return f"route {obj['dst']}"
    if section == "rules":
        return f"rule {rule_text(obj)}"
    if section == "nftables":
        return f"nft table {obj['table']}"
    if section == "qdiscs":
        return f"qdisc {obj['dev']} {obj['parent']}"
    if section == "classes":
        return f"class {obj['dev']} {obj['classid']}"
    if section == "filters":
        return f"filter {obj['dev']} {obj['parent']} {obj['pref']} {_match_text(obj)}"
    raise ValueError(section)


def rule_text(obj: dict[str, Any]) -> str:
    """``pref 16421 from 10.30.0.0/24 to 10.40.0.0/24 ipproto udp dport 53 lookup main``: as `ip rule` takes it."""
    text = f"pref {obj['pref']}"
    text += f" from {obj['src']}" if obj.get("src") else ""
    text += f" to {obj['dst']}" if obj.get("dst") else ""
    if obj.get("ipproto"):
        text += f" ipproto {PROTOCOL_NAMES.get(obj['ipproto'], obj['ipproto'])}"
    text += f" sport {obj['sport']}" if obj.get("sport") else ""
    text += f" dport {obj['dport']}" if obj.get("dport") else ""
    return f"{text} {obj['action']}"


def lines(document: dict[str, Any]) -> list[str]:
    return [line for _, line in objects(document)]


def in_scope(running: dict[str, Any], desired: dict[str, Any], desired_keys: set[str] | None = None) -> dict[str, Any]:
    """The part of a running document the engine may touch.

    That is: objects the engine recorded as its own (``owned``), objects at the same key as a
    desired object (they will be replaced), and the whole tc tree under a root qdisc in scope.
    Everything else on the device is left out of the diff and never changed. ``desired_keys``: the
    keys of ``objects(desired)``, when the caller has them.
    """
    if desired_keys is None:
        desired_keys = {key for key, _ in objects(desired)}
    wanted = desired_keys | set(running.get("owned") or [])
    tc_devs = {key.split()[1] for key in wanted if key.startswith("qdisc ") and key.endswith(" root")}
    ingress_devs = {key.split()[1] for key in wanted if key.startswith("qdisc ") and key.endswith(" ingress")}
    scoped: dict[str, Any] = {"sysctl": {k: v for k, v in (running.get("sysctl") or {}).items() if f"sysctl {k}" in wanted}}
    for section in SECTIONS[1:]:
        kept = []
        for obj in running.get(section) or []:
            keys = {key_of(section, obj)}
            if section == "links" and obj.get("kind"):
                keys.add(f"create {obj['name']}")
            dev = obj.get("dev")
            under_root = section in ("classes", "qdiscs", "filters") and dev in tc_devs and obj.get("parent") != "ffff:" \
                and obj.get("parent") != "ingress"
            under_ingress = dev in ingress_devs and obj.get("parent") in ("ffff:", "ingress")
            if keys & wanted or under_root or under_ingress:
                kept.append(obj)
        scoped[section] = kept
    return scoped


def foreign_replaced(running: dict[str, Any], desired: dict[str, Any], desired_keys: set[str] | None = None) -> list[str]:
    """Root qdiscs the engine would replace although it did not create them (worth a warning).
    ``desired_keys`` as for ``in_scope``."""
    if not running.get("qdiscs"):
        return []
    owned = set(running.get("owned") or [])
    if desired_keys is None:
        desired_keys = {key for key, _ in objects(desired)}
    notes = []
    for obj in running.get("qdiscs") or []:
        key = f"qdisc {obj['dev']} {obj['parent']}"
        if key in desired_keys and key not in owned and obj.get("kind") != next(
            (q["kind"] for q in desired["qdiscs"] if f"qdisc {q['dev']} {q['parent']}" == key), None
        ):
            notes.append(f"replaces a {obj['kind']} qdisc on {obj['dev']} that intent did not create")
    return notes


def backend_notes(document: dict[str, Any], probed: bool) -> list[str]:
    """Which kernel mechanism carries the intents that depend on the kernel, for the plan to say."""
    notes = []
    for obj in document.get("qdiscs") or []:
        if obj["parent"] == f"1:{_hex(DEFAULT_MINOR)}" and obj["handle"] == f"{SHARE_MAJOR}:" and obj["kind"] == "drr":
            notes.append(f"qos_share on {obj['dev']}: DRR classes, quantum in proportion to the weights (the kernel has drr)")
    why = "the kernel has no drr" if probed else "kernel not probed: a device whose kernel has drr gets DRR classes"
    for dev in sorted({obj["dev"] for obj in document.get("classes") or [] if obj["classid"].startswith("1:")
                       and SHARE_MINOR_BASE < int(obj["classid"][2:], 16) < SHARE_MINOR_BASE + 0x1000}):
        notes.append(f"qos_share on {dev}: HTB classes, rates in proportion to the weights, ceil = the link ({why})")
    prohibits = sum(1 for rule in document.get("rules") or [] if rule["action"] == "prohibit")
    if prohibits:
        exceptions = sum(1 for rule in document.get("rules") or [] if rule["action"] != "prohibit")
        why = "the kernel has no nftables" if probed else "kernel not probed: a device whose kernel has nftables gets " \
            f"table {NFT_TABLE}"
        notes.append(f"isolate: {prohibits} policy-routing prohibit rules, {exceptions} exception rules before them "
                     f"(routed traffic only; the sender gets ICMP administratively prohibited; {why})")
    for table in document.get("nftables") or []:
        rejects = sum(1 for rule in table["rules"] if " reject" in rule)
        notes.append(f"isolate: nftables table {table['table']} (the kernel has nftables), chain {table['chain']}: "
                     f"{rejects} reject rules, {len(table['rules']) - rejects} stateless exception rules before them "
                     "(forwarded traffic only; the sender gets ICMP administratively prohibited)")
    return notes


@lru_cache(maxsize=1 << 12)  # a spine's classes share a handful of rates
def tc_rate(bps: int) -> str:
    """Bits per second in tc's units (SI: 1kbit = 1000 bit)."""
    for unit, factor in (("gbit", 10**9), ("mbit", 10**6), ("kbit", 10**3)):
        if bps >= factor and bps % factor == 0:
            return f"{bps // factor}{unit}"
    return f"{bps}bit"
