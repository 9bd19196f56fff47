"""Backend-neutral changes to a Linux device, and the order they are made in.

``plan_ops`` turns (running, desired) into three phases; a transport executes them: the local
one over pyroute2 and a netlink socket in the namespace, the SSH one through the remote agent.
Phases matter because tc requests carry interface indexes, which exist only after links are made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine import linux
from engine.frozen import frozen


@frozen
class IpOp:
    """One link/address/route/sysctl change, as an `ip -batch` line (or a sysctl)."""

    verb: str  # link-add link-set link-del addr-add addr-del route-replace route-del rule-add rule-del
    #            nft-table (args: table name, the table object or None to remove it) sysctl
    args: tuple[Any, ...]

    def line(self) -> str:
        a = self.args
        if self.verb == "link-add":
            name, kind, parent, vlan_id = a
            return f"link add link {parent} name {name} type vlan id {vlan_id}" if kind == "vlan" \
                else f"link add {name} type {kind}"
        if self.verb == "link-set":
            name, master, up = a
            return f"link set {name} {'master ' + master if master else 'nomaster'} {'up' if up else 'down'}"
        if self.verb == "link-del":
            return f"link del {a[0]}"
        if self.verb in ("addr-add", "addr-del"):
            return f"address {self.verb[5:]} {a[1]} dev {a[0]}"
        if self.verb == "route-replace":
            dst, hops = a
            return f"route replace {dst} " + " ".join(f"nexthop via {via} dev {dev}" for via, dev in hops)
        if self.verb == "route-del":
            return f"route del {a[0]}"
        if self.verb in ("rule-add", "rule-del"):
            return f"rule {self.verb[5:]} {linux.rule_text(a[0])}"
        if self.verb == "nft-table":
            return "nft " + linux.nft_script(a[1], a[0])  # the agent feeds what follows "nft " to `nft -f -`
        return f"sysctl -w {a[0]}={a[1]}"


@frozen
class TcOp:
    """One tc request, encoded by the transport once interface indexes are known."""

    verb: str  # del-qdisc del-filters del-class add-qdisc add-class add-filter
    obj: dict[str, Any]
    replace: bool = True


@dataclass
class Phases:
    tc_removals: list[TcOp] = field(default_factory=list)
    ip_changes: list[IpOp] = field(default_factory=list)
    tc_additions: list[TcOp] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tc_removals) + len(self.ip_changes) + len(self.tc_additions)


def by_key(document: dict[str, Any], section: str) -> dict[str, dict[str, Any]]:
    return {linux.key_of(section, obj): obj for obj in document.get(section) or []}


def plan_ops(running: dict[str, Any], desired: dict[str, Any]) -> Phases:
    """The changes that make the in-scope part of ``running`` equal ``desired``, in a safe order."""
    scoped = linux.canonical(linux.in_scope(running, desired))
    have = {section: by_key(scoped, section) for section in linux.SECTIONS[1:]}
    want = {section: by_key(desired, section) for section in linux.SECTIONS[1:]}
    phases = Phases()

    # 1. tc removals. A root (or ingress) qdisc that goes or changes takes its whole tree with it; a
    # leaf qdisc that goes or changes (a qos_share tree, major 2:) takes its own classes and filters.
    gone: set[tuple[str, str]] = set()
    for key, obj in have["qdiscs"].items():
        new = want["qdiscs"].get(key)
        if obj["parent"] in ("root", "ingress") and (new is None or (new["kind"], new.get("handle"))
                                                      != (obj["kind"], obj.get("handle"))):
            gone.add((obj["dev"], obj["parent"]))
            phases.tc_removals.append(TcOp("del-qdisc", obj))
    root_gone = {dev for dev, parent in gone if parent == "root"}
    leaves_gone: list[dict[str, Any]] = []
    for key, obj in have["qdiscs"].items():
        if obj["parent"] in ("root", "ingress") or obj["dev"] in root_gone:
            continue
        new = want["qdiscs"].get(key)
        if new is None or new != obj:
            leaves_gone.append(obj)
    majors_gone = {(obj["dev"], _major(obj["handle"])) for obj in leaves_gone}

    def tree_gone(dev: str, parent: str) -> bool:
        if parent == "ffff:":
            return (dev, "ingress") in gone
        return (dev, "root") in gone or (dev, _major(parent)) in majors_gone

    old_groups, new_groups = _filter_groups(have["filters"].values()), _filter_groups(want["filters"].values())
    for (dev, parent, pref), texts in old_groups.items():
        if new_groups.get((dev, parent, pref)) != texts and not tree_gone(dev, parent):
            phases.tc_removals.append(TcOp("del-filters", {"dev": dev, "parent": parent, "pref": pref}))
    phases.tc_removals += [TcOp("del-qdisc", obj) for obj in leaves_gone]
    for key, obj in sorted(have["classes"].items(), key=lambda kv: kv[1]["parent"].endswith(":")):
        if key not in want["classes"] and not tree_gone(obj["dev"], obj["classid"]):
            phases.tc_removals.append(TcOp("del-class", obj))

    # 2. routes, addresses and links that go; sysctl; links made and set; addresses and routes added.
    ip = phases.ip_changes
    ip += [IpOp("rule-del", (obj,)) for key, obj in have["rules"].items() if key not in want["rules"]]
    ip += [IpOp("route-del", (obj["dst"],)) for key, obj in have["routes"].items() if key not in want["routes"]]
    ip += [IpOp("addr-del", (obj["dev"], obj["address"])) for key, obj in have["addresses"].items()
           if key not in want["addresses"]]
    created_have = {o["name"]: o for o in have["links"].values() if o.get("kind")}
    created_want = {o["name"]: o for o in want["links"].values() if o.get("kind")}
    for name, obj in sorted(created_have.items(), key=lambda kv: kv[1]["kind"] != "vlan"):
        if name not in created_want or _shape(created_want[name]) != _shape(obj):
            ip.append(IpOp("link-del", (name,)))
    for name, value in sorted((desired.get("sysctl") or {}).items()):
        if (scoped.get("sysctl") or {}).get(name) != value:
            ip.append(IpOp("sysctl", (name, value)))
    for name in sorted(scoped.get("sysctl") or {}):
        if name not in (desired.get("sysctl") or {}):
            ip.append(IpOp("sysctl", (name, "0")))
    recreated = set()
    for name, obj in created_want.items():
        if name not in created_have or _shape(created_have[name]) != _shape(obj):
            ip.append(IpOp("link-add", (name, obj["kind"], obj.get("link"), obj.get("id"))))
            recreated.add(name)
    for key, obj in want["links"].items():
        old = have["links"].get(key)
        if obj["name"] in recreated or old is None or (old.get("master"), old.get("up")) != (obj.get("master"), obj.get("up")):
            ip.append(IpOp("link-set", (obj["name"], obj.get("master"), obj.get("up", True))))
    for key, obj in have["links"].items():
        if key not in want["links"] and not obj.get("kind") and obj.get("master"):
            ip.append(IpOp("link-set", (obj["name"], None, obj.get("up", True))))  # leave the bridge, stay
    ip += [IpOp("addr-add", (obj["dev"], obj["address"])) for key, obj in want["addresses"].items()
           if key not in have["addresses"]]
    ip += [IpOp("route-replace", (obj["dst"], tuple((h["via"], h["dev"]) for h in obj["nexthops"])))
           for key, obj in want["routes"].items() if have["routes"].get(key) != obj]
    ip += [IpOp("rule-add", (obj,)) for key, obj in want["rules"].items() if key not in have["rules"]]
    # An nftables table intent owns is replaced whole, in one transaction, when any of it differs.
    for key in sorted(set(have["nftables"]) | set(want["nftables"])):
        if have["nftables"].get(key) != want["nftables"].get(key):
            name = (want["nftables"].get(key) or have["nftables"][key])["table"]
            ip.append(IpOp("nft-table", (name, want["nftables"].get(key))))

    # 3. tc additions: roots, the root qdisc's classes (parents first), leaves, the classes of share
    # trees (which live in a leaf qdisc), filters.
    add = phases.tc_additions
    for key, obj in want["qdiscs"].items():
        if obj["parent"] in ("root", "ingress") and (have["qdiscs"].get(key) != obj or (obj["dev"], obj["parent"]) in gone):
            add.append(TcOp("add-qdisc", obj))
    roots = {(obj["dev"], _major(obj["handle"])) for obj in want["qdiscs"].values() if obj["parent"] == "root"}
    in_root = {k: o for k, o in want["classes"].items() if (o["dev"], _major(o["classid"])) in roots}
    in_leaf = {k: o for k, o in want["classes"].items() if k not in in_root}
    for key, obj in sorted(in_root.items(), key=lambda kv: not kv[1]["parent"].endswith(":")):
        if have["classes"].get(key) != obj or obj["dev"] in root_gone:
            add.append(TcOp("add-class", obj))
    for key, obj in want["qdiscs"].items():
        if obj["parent"] not in ("root", "ingress") and (have["qdiscs"].get(key) != obj or obj["dev"] in root_gone):
            add.append(TcOp("add-qdisc", obj, replace=False))
    for key, obj in sorted(in_leaf.items(), key=lambda kv: not kv[1]["parent"].endswith(":")):
        if have["classes"].get(key) != obj or tree_gone(obj["dev"], obj["classid"]):
            add.append(TcOp("add-class", obj))
    for obj in want["filters"].values():
        group = (obj["dev"], obj["parent"], int(obj["pref"]))
        if old_groups.get(group) != new_groups[group] or tree_gone(obj["dev"], obj["parent"]):
            add.append(TcOp("add-filter", obj))
    return phases


def _filter_groups(filters: Any) -> dict[tuple[str, str, int], set[str]]:
    groups: dict[tuple[str, str, int], set[str]] = {}
    for obj in filters:
        identity = f"{obj.get('protocol', 'ip')} {linux.key_of('filters', obj)}"  # a new protocol replaces the group
        groups.setdefault((obj["dev"], obj["parent"], int(obj["pref"])), set()).add(identity)
    return groups


def _major(handle: str) -> str:
    """``"2:1a"`` -> ``"2"``: which qdisc a class, filter parent or qdisc handle belongs to."""
    return handle.partition(":")[0]


def _shape(obj: dict[str, Any]) -> tuple[Any, ...]:
    return obj.get("kind"), obj.get("link"), obj.get("id")
