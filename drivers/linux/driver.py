"""The Linux driver: desired state documents applied over netlink, only the difference, verified.

Each device keeps a small work directory (given by the engine, inside the site's state directory):
``owned.json`` lists the keys of the objects intent created there, so removing an intent removes
exactly its objects and nothing hand-made; ``pending.json`` holds an armed commit-confirm, which a
detached reverter process (``python -m drivers.linux.revert``) rolls back at its deadline unless
``confirm()`` claimed it first. The reverter does not depend on the applying process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError as Pyroute2Error

from drivers.linux import netlink, state
from engine import linux
from engine.errors import CommitError, ConnectError, DriverError, RollbackError
from engine.model import Device
from engine.render import DeviceConfig

EOPNOTSUPP, ENOENT = 95, 2
FOREIGN_OK = {"htb", "ingress", "pfifo", "bfifo", "fq_codel", "sfq"}


class LinuxDriver:
    """One Linux device in a local network namespace (``netns``). Remote Linux comes with the SSH driver."""

    def __init__(self, device: Device, work_dir: Path) -> None:
        self.device = device.name
        self.netns = device.netns
        self.work_dir = work_dir
        self._host = device.host
        self._ipr: IPRoute | None = None
        self._channel: netlink.Channel | None = None
        self._staged: tuple[dict[str, Any], dict[str, Any]] | None = None  # (running, desired)
        self.changes = 0  # netlink requests sent by the last commit
        self._indexes: dict[str, int] | None = None
        self._wanted: list[str] | None = None  # lines of the staged desired state

    # -- lifecycle --------------------------------------------------------------------------

    def open(self) -> None:
        if self.netns is None:
            raise ConnectError(self.device, f"remote Linux ({self._host}) needs the SSH driver, which is not in this "
                                            "release; lab devices use netns:")
        if not Path(f"/run/netns/{self.netns}").exists():
            raise ConnectError(self.device, f"network namespace {self.netns!r} does not exist (run: intent lab up SITE)")
        try:
            self._ipr = IPRoute(netns=self.netns, flags=0)
            self._channel = netlink.Channel(netlink.netns_socket(self.netns))
        except PermissionError as exc:
            raise ConnectError(self.device, f"cannot enter network namespace {self.netns}: run as root") from exc
        except OSError as exc:
            raise ConnectError(self.device, f"cannot open netlink in {self.netns}: {exc}") from exc

    def close(self) -> None:
        self._staged = None
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def __enter__(self) -> LinuxDriver:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def ipr(self) -> IPRoute:
        if self._ipr is None:
            raise DriverError(self.device, "driver is not open")
        return self._ipr

    @property
    def channel(self) -> netlink.Channel:
        if self._channel is None:
            raise DriverError(self.device, "driver is not open")
        return self._channel

    # -- reading ----------------------------------------------------------------------------

    @property
    def owned_file(self) -> Path:
        return self.work_dir / "owned.json"

    def owned(self) -> list[str]:
        try:
            loaded: list[str] = json.loads(self.owned_file.read_text())
            return loaded
        except FileNotFoundError:
            return []

    def read(self) -> dict[str, Any]:
        """The device's whole state, with the keys intent owns there."""
        try:
            document = state.read_document(self.ipr, self.channel, self.netns, self.device)
        except (OSError, Pyroute2Error) as exc:
            raise DriverError(self.device, f"cannot read state: {exc}") from exc
        document["owned"] = self.owned()
        return document

    def get_running(self) -> str:
        return json.dumps(self.read(), indent=2, sort_keys=True) + "\n"

    def probe(self, desired: dict[str, Any]) -> list[str]:
        """Kernel features the desired state needs that this kernel lacks, as messages for the user."""
        wanted_qdiscs = sorted({q["kind"] for q in desired.get("qdiscs") or []} - {"htb", "ingress"})
        needs_vlan = any(link.get("kind") == "vlan" for link in desired.get("links") or [])
        needs_ifb = any(link.get("kind") == "ifb" for link in desired.get("links") or [])
        missing = [f"qdisc {kind}" for kind in wanted_qdiscs if not kernel_has(("qdisc", kind))]
        if needs_vlan and not kernel_has(("link", "vlan")):
            missing.append("802.1Q VLAN devices (8021q)")
        if needs_ifb and not kernel_has(("link", "ifb")):
            missing.append("ifb devices")
        return missing

    # -- changing ---------------------------------------------------------------------------

    def stage(self, config: DeviceConfig) -> str:
        if config.document is None:
            raise DriverError(self.device, f"not a Linux configuration ({config.platform})")
        return self.stage_document(config.document)

    def stage_document(self, desired: dict[str, Any]) -> str:
        """Compute the change to ``desired``; nothing is sent yet. Returns the unified diff."""
        running = self.read()
        desired = linux.canonical(desired)
        self._staged = (running, desired)
        self._wanted = linux.lines(desired)
        return diff_text(self.device, running, desired, self._wanted)

    def discard(self) -> None:
        self._staged = None

    def commit(self, revert_in: int | None = None) -> None:
        """Send the staged change, batched; read back and verify; record ownership.

        With ``revert_in``, a detached process restores the pre-commit state after that many seconds
        unless ``confirm()`` arrives first.
        """
        if self._staged is None:
            raise CommitError(self.device, "nothing staged")
        running, desired = self._staged
        keys = sorted({key for key, _ in linux.objects(desired)})
        # Write-ahead: whatever this commit may create is recorded as ours before anything is sent,
        # so a rollback after a partial failure removes it too.
        self._write_owned(sorted(set(running.get("owned") or []) | set(keys)))
        if revert_in:
            self._arm(running, revert_in)
        try:
            self.changes = self._execute(running, desired)
        except netlink.NetlinkError as exc:
            raise CommitError(self.device, f"kernel refused {exc.what}: {os.strerror(exc.errno or 0)}") from exc
        except Pyroute2Error as exc:
            raise CommitError(self.device, f"kernel refused a change: {exc}") from exc
        self._verify(desired, self._wanted)
        self._write_owned(keys)
        self._staged = None

    def rollback(self, snapshot: str) -> None:
        """Make every object intent touched equal to ``snapshot`` (a ``get_running()`` text) again."""
        try:
            document = json.loads(snapshot)
            running = self.read()
            running["owned"] = sorted(set(running.get("owned") or []) | set(document.get("owned") or []))
            target = {k: v for k, v in document.items() if k != "owned"}
            self.changes = self._execute(running, linux.canonical(target))
            self._verify(target)
            self._write_owned(list(document.get("owned") or []))
        except DriverError as exc:
            raise RollbackError(self.device, str(exc).split(": ", 1)[-1]) from exc
        except (OSError, ValueError, Pyroute2Error) as exc:
            raise RollbackError(self.device, f"restore failed: {exc}") from exc

    # -- commit-confirm ---------------------------------------------------------------------

    @property
    def pending_file(self) -> Path:
        return self.work_dir / "pending.json"

    def _arm(self, running: dict[str, Any], seconds: int) -> None:
        token = uuid.uuid4().hex
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "reverted.json").unlink(missing_ok=True)  # from an earlier commit
        record = {"token": token, "device": self.device, "netns": self.netns, "deadline": time.time() + seconds,
                  "snapshot": running}
        tmp = self.pending_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(self.pending_file)
        root = Path(__file__).resolve().parents[2]
        subprocess.Popen(
            [sys.executable, "-m", "drivers.linux.revert", str(self.work_dir), token],
            cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, "PYTHONPATH": str(root)},
        )

    def confirm(self) -> None:
        """Claim the armed revert before its deadline; after that the change stays."""
        claimed = self.work_dir / "confirmed.json"
        try:
            self.pending_file.replace(claimed)
        except FileNotFoundError:
            reverted = self.work_dir / "reverted.json"
            if reverted.exists():
                raise CommitError(self.device, "too late: the commit was already reverted at its deadline") from None
            raise CommitError(self.device, "no commit is waiting for confirmation") from None

    # -- internals --------------------------------------------------------------------------

    def _write_owned(self, keys: list[str]) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.owned_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(keys, indent=0))
        tmp.replace(self.owned_file)

    def _verify(self, desired: dict[str, Any], wanted: list[str] | None = None) -> None:
        """Read the device back: what intent may touch must now equal ``desired`` line for line."""
        after = self.read()
        if linux.lines(linux.in_scope(after, desired)) == (wanted if wanted is not None else linux.lines(desired)):
            return
        raise CommitError(self.device, "verification failed: the device does not match after the change:\n"
                                       + diff_text(self.device, after, desired))

    def _index(self, name: str) -> int:
        """Interface index by name, from one link dump per phase (``_forget_links`` after link changes)."""
        if self._indexes is None:
            self._indexes = {msg.get_attr("IFLA_IFNAME"): int(msg["index"]) for msg in self.ipr.get_links()}
        try:
            return self._indexes[name]
        except KeyError:
            raise CommitError(self.device, f"interface {name} does not exist") from None

    def _forget_links(self) -> None:
        self._indexes = None

    def _execute(self, running: dict[str, Any], desired: dict[str, Any]) -> int:
        """Apply the difference between the in-scope part of ``running`` and ``desired``; return requests sent."""
        self._forget_links()
        scoped = linux.canonical(linux.in_scope(running, desired))
        sent = 0
        have = {section: _by_key(scoped, section) for section in linux.SECTIONS[1:]}
        want = {section: _by_key(desired, section) for section in linux.SECTIONS[1:]}

        # 1. tc removals: root qdiscs that go or change kind take their whole tree with them.
        tc_gone: set[str] = set()
        removals: list[netlink.Request] = []
        for key, obj in have["qdiscs"].items():
            new = want["qdiscs"].get(key)
            if new is None or new["kind"] != obj["kind"] or new.get("handle") != obj.get("handle"):
                if obj["parent"] in ("root", "ingress"):
                    tc_gone.add(f"{obj['dev']} {obj['parent']}")
                    removals.append(netlink.del_qdisc(self._index(obj["dev"]), obj))
        gone_devs = {entry.split()[0] for entry in tc_gone if entry.endswith(" root")}
        gone_ingress = {entry.split()[0] for entry in tc_gone if entry.endswith(" ingress")}
        old_prefs = _filter_groups(have["filters"].values())
        new_prefs = _filter_groups(want["filters"].values())
        for group, texts in old_prefs.items():
            dev, parent, pref = group
            if new_prefs.get(group) != texts and not _tree_gone(dev, parent, gone_devs, gone_ingress):
                removals.append(netlink.del_filters(self._index(dev), dev, parent, pref))
        for key, obj in have["qdiscs"].items():
            if obj["parent"] in ("root", "ingress") or obj["dev"] in gone_devs:
                continue
            new = want["qdiscs"].get(key)
            if new is None or new["kind"] != obj["kind"]:
                removals.append(netlink.del_qdisc(self._index(obj["dev"]), obj))
        for key, obj in sorted(have["classes"].items(), key=lambda kv: kv[1]["parent"] == "1:"):
            if key not in want["classes"] and obj["dev"] not in gone_devs:
                removals.append(netlink.del_class(self._index(obj["dev"]), obj))
        self.channel.batch(removals)
        sent += len(removals)

        # 2. routes, addresses and links that go; links that change.
        for key, obj in have["routes"].items():
            if key not in want["routes"]:
                self.ipr.route("del", dst=obj["dst"])
                sent += 1
        for key, obj in have["addresses"].items():
            if key not in want["addresses"]:
                address, prefixlen = obj["address"].split("/")
                self.ipr.addr("del", index=self._index(obj["dev"]), address=address, prefixlen=int(prefixlen))
                sent += 1
        created_have = {o["name"]: o for o in have["links"].values() if o.get("kind")}
        created_want = {o["name"]: o for o in want["links"].values() if o.get("kind")}
        for name, obj in sorted(created_have.items(), key=lambda kv: kv[1]["kind"] != "vlan"):
            if name not in created_want or _link_shape(created_want[name]) != _link_shape(obj):
                self.ipr.link("del", index=self._index(name))
                sent += 1
        self._forget_links()
        # 3. sysctl
        for name, value in (desired.get("sysctl") or {}).items():
            if (scoped.get("sysctl") or {}).get(name) != value:
                state.write_sysctl(self.netns, name, value)
                sent += 1
        for name in (scoped.get("sysctl") or {}):
            if name not in (desired.get("sysctl") or {}):
                state.write_sysctl(self.netns, name, "0")
                sent += 1
        # 4. links: create, then masters and state.
        recreated: set[str] = set()
        for name, obj in created_want.items():
            if name in created_have and _link_shape(created_have[name]) == _link_shape(obj):
                continue
            if obj["kind"] == "vlan":
                self.ipr.link("add", ifname=name, kind="vlan", link=self._index(obj["link"]), vlan_id=obj["id"])
            else:
                self.ipr.link("add", ifname=name, kind=obj["kind"])
            recreated.add(name)
            sent += 1
        self._forget_links()
        for key, obj in want["links"].items():
            old = have["links"].get(key)
            if obj["name"] not in recreated and old is not None and old.get("master") == obj.get("master") \
                    and old.get("up") == obj.get("up"):
                continue
            master = self._index(obj["master"]) if obj.get("master") else 0
            self.ipr.link("set", index=self._index(obj["name"]), master=master,
                          state="up" if obj.get("up", True) else "down")
            sent += 1
        for key, obj in have["links"].items():
            if key not in want["links"] and not obj.get("kind") and obj.get("master"):
                self.ipr.link("set", index=self._index(obj["name"]), master=0)  # leave the port, keep it
                sent += 1
        # 5. addresses and routes.
        for key, obj in want["addresses"].items():
            if key not in have["addresses"]:
                address, prefixlen = obj["address"].split("/")
                self.ipr.addr("add", index=self._index(obj["dev"]), address=address, prefixlen=int(prefixlen))
                sent += 1
        for key, obj in want["routes"].items():
            if have["routes"].get(key) == obj:
                continue
            hops = [{"gateway": hop["via"], "oif": self._index(hop["dev"])} for hop in obj["nexthops"]]
            if len(hops) == 1:
                self.ipr.route("replace", dst=obj["dst"], gateway=hops[0]["gateway"], oif=hops[0]["oif"])
            else:
                self.ipr.route("replace", dst=obj["dst"], multipath=hops)
            sent += 1
        # 6. tc additions: roots, classes (parents first), leaves, filters.
        additions: list[netlink.Request] = []
        for key, obj in want["qdiscs"].items():
            if obj["parent"] in ("root", "ingress") and (have["qdiscs"].get(key) != obj or f"{obj['dev']} {obj['parent']}" in tc_gone):
                additions.append(netlink.new_qdisc(self._index(obj["dev"]), obj))
        for key, obj in sorted(want["classes"].items(), key=lambda kv: kv[1]["parent"] != "1:"):
            if have["classes"].get(key) != obj or obj["dev"] in gone_devs:
                additions.append(netlink.new_class(self._index(obj["dev"]), obj))
        for key, obj in want["qdiscs"].items():
            if obj["parent"] in ("root", "ingress"):
                continue
            if have["qdiscs"].get(key) != obj or obj["dev"] in gone_devs:
                additions.append(netlink.new_qdisc(self._index(obj["dev"]), obj, replace=False))
        for obj in want["filters"].values():
            group = (obj["dev"], obj["parent"], int(obj["pref"]))
            if old_prefs.get(group) == new_prefs[group] and not _tree_gone(obj["dev"], obj["parent"], gone_devs,
                                                                           gone_ingress):
                continue
            actions = b""
            if obj.get("action"):
                actions = netlink.mirred_redirect(self._index(obj["action"].split()[-1]))
            additions.append(netlink.new_filter(self._index(obj["dev"]), obj, actions))
        foreign = [q for q in want["qdiscs"].values() if q["kind"] not in FOREIGN_OK]
        if foreign:
            raise RollbackError(self.device, f"cannot recreate a {foreign[0]['kind']} qdisc on {foreign[0]['dev']} "
                                             "that intent did not create")
        self.channel.batch(additions)
        return sent + len(additions)


def _by_key(document: dict[str, Any], section: str) -> dict[str, dict[str, Any]]:
    return {linux.key_of(section, obj): obj for obj in document.get(section) or []}


def _filter_groups(filters: Any) -> dict[tuple[str, str, int], set[str]]:
    groups: dict[tuple[str, str, int], set[str]] = {}
    for obj in filters:
        groups.setdefault((obj["dev"], obj["parent"], int(obj["pref"])), set()).add(linux._match_text(obj))
    return groups


def _tree_gone(dev: str, parent: str, gone_devs: set[str], gone_ingress: set[str]) -> bool:
    return dev in (gone_ingress if parent == "ffff:" else gone_devs)


def _link_shape(obj: dict[str, Any]) -> tuple[Any, ...]:
    return obj.get("kind"), obj.get("link"), obj.get("id")


def diff_text(device: str, running: dict[str, Any], desired: dict[str, Any], after: list[str] | None = None) -> str:
    import difflib

    before = linux.lines(linux.in_scope(running, desired))
    after = after if after is not None else linux.lines(desired)
    text = "\n".join(difflib.unified_diff(before, after, f"{device} (running)", f"{device} (intent)", lineterm="", n=3))
    return text + "\n" if text else ""


_features: dict[tuple[str, str], bool] = {}
_probe_lock = threading.Lock()


def kernel_has(feature: tuple[str, str]) -> bool:
    """Probe the running kernel once per feature: create it on a scratch veth in a scratch namespace."""
    with _probe_lock:
        if feature not in _features:
            _features[feature] = _probe(feature)
        return _features[feature]


def _probe(feature: tuple[str, str]) -> bool:
    name = f"intent-probe-{os.getpid()}"
    from pyroute2 import netns as netns_tools

    netns_tools.create(name)
    try:
        with IPRoute(netns=name, flags=0) as ipr:
            ipr.link("add", ifname="p0", kind="veth", peer={"ifname": "p1"})
            index = ipr.link_lookup(ifname="p0")[0]
            try:
                if feature[0] == "qdisc":
                    ipr.tc("add", feature[1], index=index, handle="1:")
                elif feature[1] == "vlan":
                    ipr.link("add", ifname="p0.10", kind="vlan", link=index, vlan_id=10)
                else:
                    ipr.link("add", ifname="p2", kind=feature[1])
                return True
            except Pyroute2Error as exc:
                if exc.code not in (EOPNOTSUPP, ENOENT, 22):
                    raise
                return False
    finally:
        netns_tools.remove(name)
