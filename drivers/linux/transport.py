"""How the Linux driver reaches a device: a local network namespace, or a remote host over SSH."""

from __future__ import annotations

import base64
import json
import shlex
import threading
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from pyroute2 import IPRoute

from drivers.linux import netlink, state
from drivers.linux.agent import nft_apply
from drivers.linux.agent import probe as probe_here
from drivers.linux.ops import IpOp
from engine import linux
from engine.errors import CommitError, ConnectError, DriverError

AGENT_IMPORT = "from drivers.linux.netlink import"


Feature = tuple[str, str]  # ("qdisc", "drr"), ("link", "vlan"), ("nft", "inet")


class Transport(Protocol):
    def read(self, device: str) -> dict[str, Any]: ...
    def probe(self, features: list[Feature]) -> dict[Feature, bool]: ...
    def index(self, name: str) -> int: ...
    def forget_links(self) -> None: ...
    def tc(self, requests: list[netlink.Request]) -> None: ...
    def ip(self, ops: list[IpOp]) -> None: ...
    def class_stats(self, devices: list[str]) -> list[dict[str, Any]]: ...
    def close(self) -> None: ...


class _Indexes:
    """Interface index by name, read once and forgotten when links change."""

    device: str
    _indexes: dict[str, int] | None = None

    def _read_indexes(self) -> dict[str, int]:
        raise NotImplementedError

    def index(self, name: str) -> int:
        if self._indexes is None:
            self._indexes = self._read_indexes()
        try:
            return self._indexes[name]
        except KeyError:
            raise CommitError(self.device, f"interface {name} does not exist") from None

    def forget_links(self) -> None:
        self._indexes = None


_features: dict[Feature, bool] = {}
_probe_lock = threading.Lock()


def kernel_has(feature: Feature) -> bool:
    """Whether this machine's kernel has ``feature``, probed once per process (drivers.linux.agent.probe)."""
    with _probe_lock:
        if feature not in _features:
            _features[feature] = probe_here([list(feature)])[0]
        return _features[feature]


class LocalTransport(_Indexes):
    """A network namespace on this host: pyroute2 for links/addresses/routes, a raw socket for tc."""

    def __init__(self, device: str, netns: str) -> None:
        self.device, self.netns = device, netns
        if not Path(f"/run/netns/{netns}").exists():
            raise ConnectError(device, f"network namespace {netns!r} does not exist (run: intent lab up SITE)")
        try:
            self.ipr = IPRoute(netns=netns, flags=0)
            self.channel = netlink.Channel(netlink.netns_socket(netns))
        except PermissionError as exc:
            raise ConnectError(device, f"cannot enter network namespace {netns}: run as root") from exc
        except OSError as exc:
            raise ConnectError(device, f"cannot open netlink in {netns}: {exc}") from exc
        self._indexes: dict[str, int] | None = None

    def read(self, device: str) -> dict[str, Any]:
        return state.read_document(self.ipr, self.channel, self.netns, device)

    def _read_indexes(self) -> dict[str, int]:
        return {msg.get_attr("IFLA_IFNAME"): int(msg["index"]) for msg in self.ipr.get_links()}

    def probe(self, features: list[Feature]) -> dict[Feature, bool]:
        """Every namespace here runs on this machine's kernel: probed once per process for all of them."""
        return {feature: kernel_has(feature) for feature in features}

    def class_stats(self, devices: list[str]) -> list[dict[str, Any]]:
        names = {int(msg["index"]): msg.get_attr("IFLA_IFNAME") for msg in self.ipr.get_links()}
        return netlink.class_stats(self.channel, names, devices)

    def tc(self, requests: list[netlink.Request]) -> None:
        self.channel.batch(requests)

    def ip(self, ops: list[IpOp]) -> None:
        for op in ops:
            self._one(op)
            if op.verb in ("link-add", "link-del"):
                self.forget_links()

    def _one(self, op: IpOp) -> None:
        a = op.args
        if op.verb == "sysctl":
            state.write_sysctl(self.netns, a[0], a[1])
        elif op.verb == "link-add":
            name, kind, parent, vlan_id = a
            if kind == "vlan":
                self.ipr.link("add", ifname=name, kind="vlan", link=self.index(parent), vlan_id=vlan_id)
            else:
                self.ipr.link("add", ifname=name, kind=kind)
        elif op.verb == "link-set":
            name, master, up = a
            self.ipr.link("set", index=self.index(name), master=self.index(master) if master else 0,
                          state="up" if up else "down")
        elif op.verb == "link-del":
            self.ipr.link("del", index=self.index(a[0]))
        elif op.verb in ("addr-add", "addr-del"):
            address, prefixlen = a[1].split("/")
            self.ipr.addr(op.verb[5:], index=self.index(a[0]), address=address, prefixlen=int(prefixlen))
        elif op.verb in ("rule-add", "rule-del"):
            self.channel.batch([netlink.new_rule(a[0]) if op.verb == "rule-add" else netlink.del_rule(a[0])])
        elif op.verb == "nft-table":
            said = nft_apply(linux.nft_script(a[1], a[0]), self.netns)
            if said:
                raise CommitError(self.device, f"nft refused table {a[0]}: {said}")
        elif op.verb == "route-del":
            self.ipr.route("del", dst=a[0])
        elif op.verb == "route-replace":
            dst, hops = a
            if len(hops) == 1:
                self.ipr.route("replace", dst=dst, gateway=hops[0][0], oif=self.index(hops[0][1]))
            else:
                self.ipr.route("replace", dst=dst, multipath=[{"gateway": via, "oif": self.index(dev)} for via, dev in hops])

    def close(self) -> None:
        self.ipr.close()
        self.channel.close()


@lru_cache(maxsize=1)
def agent_program() -> str:
    """netlink.py + agent.py as one stdlib-only program, compressed into a `python3 -c` argument."""
    here = Path(__file__).parent
    agent = "\n".join(line for line in (here / "agent.py").read_text().splitlines()
                      if not line.startswith((AGENT_IMPORT, "from __future__")))
    source = (here / "netlink.py").read_text() + "\n\n" + agent
    packed = base64.b64encode(zlib.compress(source.encode(), 9)).decode()
    return f"import base64,zlib;exec(compile(zlib.decompress(base64.b64decode('{packed}')),'intent-agent','exec'))"


class SSHTransport(_Indexes):
    """A remote Linux host: each call is one SSH exec of the agent (python3 + iproute2 on the host)."""

    def __init__(self, device: str, client: Any, become: bool, command_timeout: float = 60.0) -> None:
        self.device, self.client, self.become = device, client, become
        self.command_timeout = command_timeout
        self._indexes: dict[str, int] | None = None
        self._features: dict[Feature, bool] = {}
        self._unprobed = ""

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        from drivers.ssh import run

        command = ("sudo -n " if self.become else "") + "python3 -c " + shlex.quote(agent_program())
        status, out, err = run(self.client, command, json.dumps(request).encode(), self.command_timeout, self.device)
        if status != 0 and not out:
            message = err.decode(errors="replace").strip() or f"exit status {status}"
            raise DriverError(self.device, f"remote agent failed: {message} (the device needs python3 and iproute2)")
        try:
            response: dict[str, Any] = json.loads(out)
        except ValueError:
            raise DriverError(self.device, f"the remote agent's answer is not JSON: {out[:80]!r}") from None
        return response

    def read(self, device: str) -> dict[str, Any]:
        response = self._call({"op": "read", "nft_table": linux.NFT_TABLE})
        if "error" in response:
            raise DriverError(self.device, f"cannot read state: {response['error'].get('what')}")
        return linux.canonical(from_ip_json(device, response))

    def _read_indexes(self) -> dict[str, int]:
        return {k: int(v) for k, v in self._call({"op": "indexes"})["indexes"].items()}

    def probe(self, features: list[Feature]) -> dict[Feature, bool]:
        """The remote kernel, probed by the agent (the same code as the local probe), once per connection.
        A host where the agent cannot make a scratch namespace (a user without root) answers nothing:
        the features are left out (unknown), and what every kernel has is rendered."""
        unknown = [feature for feature in dict.fromkeys(features) if feature not in self._features]
        if unknown and not self._unprobed:
            response = self._call({"op": "probe", "features": [list(feature) for feature in unknown]})
            if "unprobed" in response:
                self._unprobed = str(response["unprobed"])
                return {}
            answers = response.get("features")
            if "error" in response or not isinstance(answers, list) or len(answers) != len(unknown):
                raise DriverError(self.device, f"cannot probe the kernel: {response.get('error', {}).get('what', response)}")
            self._features.update(zip(unknown, (bool(answer) for answer in answers), strict=True))
        return {feature: self._features[feature] for feature in features if feature in self._features}

    def class_stats(self, devices: list[str]) -> list[dict[str, Any]]:
        stats: list[dict[str, Any]] = self._call({"op": "stats", "devices": devices}).get("stats", [])
        return stats

    def tc(self, requests: list[netlink.Request]) -> None:
        if not requests:
            return
        wire = [[r.kind, r.flags, base64.b64encode(r.body).decode(), r.what] for r in requests]
        response = self._call({"op": "tc", "requests": wire})
        if "error" in response:
            error = response["error"]
            if "errno" in error:
                raise netlink.NetlinkError(error["errno"], error["index"], error["what"])
            raise DriverError(self.device, f"tc change failed: {error.get('what')}")

    def ip(self, ops: list[IpOp]) -> None:
        if not ops:
            return
        response = self._call({"op": "ip", "lines": [op.line() for op in ops]})
        self.forget_links()
        if "error" in response:
            error = response["error"]
            raise CommitError(self.device, f"`ip {error.get('line', '')}` failed: {error.get('stderr') or error.get('what')}")

    def close(self) -> None:
        self.client.close()


def from_ip_json(device: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The agent's `ip -j` output and tc objects, as a state document."""
    links = []
    for link in raw["links"]:
        info = link.get("linkinfo") or {}
        kind = info.get("info_kind")
        links.append({
            "name": link["ifname"], "kind": kind if kind in state.CREATED_KINDS else None,
            "link": link.get("link") if kind == "vlan" else None,
            "id": (info.get("info_data") or {}).get("id") if kind == "vlan" else None,
            "master": link.get("master"), "up": "UP" in (link.get("flags") or []),
        })
    addresses = [{"dev": entry["ifname"], "address": f"{a['local']}/{a['prefixlen']}"}
                 for entry in raw["addresses"] for a in entry.get("addr_info") or [] if a.get("family") == "inet"]
    routes = []
    for route in raw["routes"]:
        if route.get("protocol") == "kernel" or route.get("type", "unicast") != "unicast":
            continue
        dst = "0.0.0.0/0" if route["dst"] == "default" else route["dst"]
        dst = dst if "/" in dst else f"{dst}/32"
        hops = [{"via": h.get("gateway"), "dev": h.get("dev")} for h in route.get("nexthops") or []] \
            or [{"via": route.get("gateway"), "dev": route.get("dev")}]
        routes.append({"dst": dst, "nexthops": sorted(hops, key=lambda h: (h["dev"], str(h["via"])))})
    return {"device": device, "platform": "linux", "sysctl": {"net.ipv4.ip_forward": raw["ip_forward"]},
            "links": links, "addresses": addresses, "routes": routes, "rules": raw.get("rules") or [],
            **({"nftables": tables} if (tables := linux.parse_nft_table(raw.get("nft") or "")) else {}),
            "qdiscs": raw["qdiscs"], "classes": raw["classes"], "filters": raw["filters"]}
