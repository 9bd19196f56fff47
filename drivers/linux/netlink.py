"""Batched traffic-control netlink: encode, send many messages per syscall, decode dumps.

pyroute2 encodes about 2,500 tc messages a second, far slower than the kernel applies them, so
the objects that come by the thousand (HTB classes, leaf qdiscs, u32 filters) are encoded here with
``struct`` exactly as ``tc`` would send them, sent in chunks of ~60 kB on one socket, and their
ACKs matched back to each object. Dumps are decoded here too (pyroute2 0.9.7 misreads u32 keys).
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Any

# rtnetlink message types and flags (linux/rtnetlink.h, linux/netlink.h)
RTM_NEWQDISC, RTM_DELQDISC, RTM_GETQDISC = 36, 37, 38
RTM_NEWTCLASS, RTM_DELTCLASS, RTM_GETTCLASS = 40, 41, 42
RTM_NEWTFILTER, RTM_DELTFILTER, RTM_GETTFILTER = 44, 45, 46
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x100, 0x200, 0x400, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
TCA_KIND, TCA_OPTIONS = 1, 2
TCA_HTB_PARMS, TCA_HTB_INIT, TCA_HTB_RATE64, TCA_HTB_CEIL64 = 1, 2, 6, 7
TCA_U32_CLASSID, TCA_U32_SEL, TCA_U32_ACT = 1, 5, 7
TCA_ACT_KIND, TCA_ACT_OPTIONS, TCA_MIRRED_PARMS = 1, 2, 2
TCA_DRR_QUANTUM = 1
# policy-routing rules (linux/fib_rules.h)
RTM_NEWRULE, RTM_DELRULE, RTM_GETRULE = 32, 33, 34
FRA_DST, FRA_SRC, FRA_PRIORITY, FRA_TABLE, FRA_IP_PROTO, FRA_SPORT_RANGE, FRA_DPORT_RANGE = 1, 2, 6, 15, 22, 23, 24
FR_ACT_TO_TBL, FR_ACT_BLACKHOLE, FR_ACT_UNREACHABLE, FR_ACT_PROHIBIT = 1, 6, 7, 8
RULE_ACTIONS = {"prohibit": FR_ACT_PROHIBIT, "blackhole": FR_ACT_BLACKHOLE, "unreachable": FR_ACT_UNREACHABLE}
TABLES = {"local": 255, "main": 254, "default": 253}
AF_INET = 2
ETH_P_IP, ETH_P_ALL = 0x0800, 0x0003
PROTOCOLS = {"ip": ETH_P_IP, "all": ETH_P_ALL}
TC_H_ROOT, TC_H_INGRESS = 0xFFFFFFFF, 0xFFFFFFF1
CLONE_NEWNET = 0x40000000

# tc's defaults, as iproute2 computes them from /proc/net/psched (tick = 15.625 per microsecond)
MTU = 1600
CELL_LOG = 3  # smallest cell_log with (MTU >> cell_log) <= 255
LINKLAYER_ETHERNET = 1

_HDR = struct.Struct("=IHHII")
_TCMSG = struct.Struct("=BxxxiIII")
_RTA = struct.Struct("=HH")
_RATESPEC = struct.Struct("=BBHhHI")
_HTB_OPT_TAIL = struct.Struct("=IIIII")
_HTB_GLOB = struct.Struct("=IIIII")
_U32_SEL = struct.Struct("=BBBxHHhhI")
_U32_KEY = struct.Struct(">II")
_U32_KEY_OFF = struct.Struct("=ii")
_FIB_RULE_HDR = struct.Struct("=BBBBBBBBI")
_PORT_RANGE = struct.Struct("=HH")


class NetlinkError(OSError):
    """A request the kernel refused; ``index`` is the position of the request in its batch."""

    def __init__(self, errno_: int, index: int, what: str) -> None:
        super().__init__(errno_, f"{os.strerror(errno_)} ({what})")
        self.index = index
        self.what = what


def _psched() -> tuple[float, int]:
    """tick_in_usec and hz, like iproute2's tc_core_init()/get_hz()."""
    try:
        t2us, us2t, clock_res, hz = (int(x, 16) for x in open("/proc/net/psched").read().split())
    except (OSError, ValueError):
        return 15.625, 1_000_000_000
    tick_in_usec = t2us / us2t * (clock_res / 1_000_000)
    return tick_in_usec, hz if clock_res == 1_000_000 else 1_000_000_000


TICK_IN_USEC, HZ = _psched()


def _attr(kind: int, payload: bytes) -> bytes:
    length = _RTA.size + len(payload)
    return _RTA.pack(length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def _kind(name: str) -> bytes:
    return _attr(TCA_KIND, name.encode() + b"\0")


def _xmittime(rate_bytes: int, size: int) -> int:
    return int(1_000_000 * size / rate_bytes * TICK_IN_USEC)


def _ratespec(rate_bytes: int) -> bytes:
    return _RATESPEC.pack(CELL_LOG, LINKLAYER_ETHERNET, 0, -1, 0, min(rate_bytes, 0xFFFFFFFF))


def handle(text: str) -> int:
    """``"1:a3f"`` -> 0x10a3f; ``"root"`` and ``"ingress"`` their kernel values."""
    if text == "root":
        return TC_H_ROOT
    if text == "ingress":
        return TC_H_INGRESS
    major, _, minor = text.partition(":")
    return (int(major or "0", 16) << 16) | int(minor or "0", 16)


def handle_text(value: int) -> str:
    if value == TC_H_ROOT:
        return "root"
    if value == TC_H_INGRESS:
        return "ingress"
    return f"{value >> 16:x}:{value & 0xFFFF:x}" if value & 0xFFFF else f"{value >> 16:x}:"


@dataclass
class Request:
    """One encoded request and what it is, for error messages."""

    kind: int
    flags: int
    body: bytes
    what: str


def tcmsg(ifindex: int, handle_: int = 0, parent: int = 0, info: int = 0) -> bytes:
    return _TCMSG.pack(0, ifindex, handle_, parent, info)


def new_qdisc(ifindex: int, obj: dict[str, Any], replace: bool = True) -> Request:
    parent = handle(obj["parent"])
    own = 0xFFFF0000 if obj["kind"] == "ingress" else handle(obj["handle"])
    body = tcmsg(ifindex, own, parent) + _kind(obj["kind"])
    if obj["kind"] == "htb":
        glob = _HTB_GLOB.pack(3, int(obj.get("r2q") or 10), int(obj.get("default") or "0", 16), 0, 0)
        body += _attr(TCA_OPTIONS, _attr(TCA_HTB_INIT, glob))
    elif obj["kind"] == "ingress":
        body += _attr(TCA_OPTIONS, b"")
    flags = NLM_F_CREATE | (NLM_F_REPLACE if replace else NLM_F_EXCL)
    return Request(RTM_NEWQDISC, flags, body, f"qdisc {obj['kind']} {obj['parent']} on {obj['dev']}")


def del_qdisc(ifindex: int, obj: dict[str, Any]) -> Request:
    own = 0xFFFF0000 if obj["kind"] == "ingress" else handle(obj["handle"])
    return Request(RTM_DELQDISC, 0, tcmsg(ifindex, own, handle(obj["parent"])), f"delete qdisc {obj['parent']} on {obj['dev']}")


# HTB's burst and cburst: what a class may send at once after waiting. tc's default is rate/HZ + MTU,
# with high-resolution timers (HZ 1e9) one MTU, so a class whose dequeue comes late (a busy or
# emulated CPU) loses what it earned meanwhile (under qemu a 6 Mbit/s class's TCP averaged 4.5 Mbit/s
# over 10 runs with one-MTU bursts, 5.05 over 6 with 10 ms). tc-htb(8): the burst must cover the rate
# for one timer period; 10 ms, its 100 timer events per second.
BURST_SECONDS = 0.010


def htb_burst(rate_bytes: int) -> int:
    """Bytes of burst for an HTB rate (bytes per second): 10 ms of the rate, never less than tc's default."""
    return max(rate_bytes // HZ + MTU, int(rate_bytes * BURST_SECONDS))


def new_class(ifindex: int, obj: dict[str, Any]) -> Request:
    """An HTB class as ``tc class replace ... htb rate R ceil C burst B cburst CB [prio P]`` sends it, B and
    CB = ``htb_burst`` of the rate and the ceil (a DRR class: ``drr quantum Q``)."""
    if obj["kind"] == "drr":
        options = _attr(TCA_DRR_QUANTUM, struct.pack("=I", int(obj["quantum"])))
        body = tcmsg(ifindex, handle(obj["classid"]), handle(obj["parent"])) + _kind("drr") + _attr(TCA_OPTIONS, options)
        return Request(RTM_NEWTCLASS, NLM_F_CREATE | NLM_F_REPLACE, body, f"class {obj['classid']} on {obj['dev']}")
    rate, ceil = obj["rate"] // 8, obj["ceil"] // 8
    buffer = _xmittime(rate, htb_burst(rate))
    cbuffer = _xmittime(ceil, htb_burst(ceil))
    opt = _ratespec(rate) + _ratespec(ceil) + _HTB_OPT_TAIL.pack(buffer, cbuffer, 0, 0, obj.get("prio") or 0)
    options = _attr(TCA_HTB_PARMS, opt)
    if rate >= 1 << 32:
        options += _attr(TCA_HTB_RATE64, struct.pack("=Q", rate))
    if ceil >= 1 << 32:
        options += _attr(TCA_HTB_CEIL64, struct.pack("=Q", ceil))
    body = tcmsg(ifindex, handle(obj["classid"]), handle(obj["parent"])) + _kind("htb") + _attr(TCA_OPTIONS, options)
    return Request(RTM_NEWTCLASS, NLM_F_CREATE | NLM_F_REPLACE, body, f"class {obj['classid']} on {obj['dev']}")


def del_class(ifindex: int, obj: dict[str, Any]) -> Request:
    return Request(RTM_DELTCLASS, 0, tcmsg(ifindex, handle(obj["classid"]), handle(obj["parent"])),
                   f"delete class {obj['classid']} on {obj['dev']}")


def _keys(match: list[list[str]]) -> list[tuple[int, int, int]]:
    """(offset, mask, value) u32 keys for our match vocabulary, as iproute2's f_u32 packs them."""
    keys: list[tuple[int, int, int]] = []
    for key in match:
        name = key[0]
        if name in ("src", "dst"):
            network = ipaddress.IPv4Network(key[1])
            mask = int(network.netmask)
            keys.append((12 if name == "src" else 16, mask, int(network.network_address) & mask))
        elif name == "tos":
            keys.append((0, int(key[2], 16) << 16, int(key[1], 16) << 16))
        elif name == "protocol":
            keys.append((8, int(key[2], 16) << 16, int(key[1]) << 16))
        elif name == "dport":
            keys.append((20, int(key[2], 16), int(key[1])))
        elif name == "u32":
            keys.append((0, int(key[2], 16), int(key[1], 16)))
        else:
            raise ValueError(f"unsupported u32 match {name!r}")
    return keys


def new_filter(ifindex: int, obj: dict[str, Any], actions: bytes = b"") -> Request:
    keys = _keys(obj["match"])
    sel = _U32_SEL.pack(1, 0, len(keys), 0, 0, 0, 0, 0) + b"".join(
        _U32_KEY.pack(mask, value) + _U32_KEY_OFF.pack(offset, 0) for offset, mask, value in keys
    )
    options = b""
    if obj.get("flowid"):
        options += _attr(TCA_U32_CLASSID, struct.pack("=I", handle(obj["flowid"])))
    options += _attr(TCA_U32_SEL, sel)
    if actions:
        options += _attr(TCA_U32_ACT, actions)
    info = (int(obj["pref"]) << 16) | socket.htons(PROTOCOLS[obj.get("protocol", "ip")])
    body = tcmsg(ifindex, 0, handle(obj["parent"]), info) + _kind("u32") + _attr(TCA_OPTIONS, options)
    return Request(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, body, f"filter pref {obj['pref']} on {obj['dev']}")


def mirred_redirect(target_ifindex: int) -> bytes:
    """``action mirred egress redirect dev X`` (TCA_EGRESS_REDIR=1, TC_ACT_STOLEN=4)."""
    parms = struct.pack("=IIiiiiI", 0, 0, 4, 0, 0, 1, target_ifindex)
    action = _attr(TCA_ACT_KIND, b"mirred\0") + _attr(TCA_ACT_OPTIONS, _attr(TCA_MIRRED_PARMS, parms))
    return _attr(1, action)  # first action in the list


def del_filters(ifindex: int, dev: str, parent: str, pref: int) -> Request:
    """Every filter of one pref (any protocol): the unit one intent's filters are replaced in."""
    info = pref << 16
    return Request(RTM_DELTFILTER, 0, tcmsg(ifindex, 0, handle(parent), info), f"delete filters pref {pref} on {dev}")


def _rule_body(obj: dict[str, Any]) -> bytes:
    """A policy-routing rule (``ip rule add pref P from S to D [ipproto N] [sport A-B] [dport A-B] ACTION``)."""
    src = ipaddress.IPv4Network(obj["src"]) if obj.get("src") else None
    dst = ipaddress.IPv4Network(obj["dst"]) if obj.get("dst") else None
    action_text = obj["action"]
    if action_text.startswith("lookup "):
        table_name = action_text.split()[1]
        action, table = FR_ACT_TO_TBL, TABLES.get(table_name) or int(table_name)
    else:
        action, table = RULE_ACTIONS[action_text], 0
    body = _FIB_RULE_HDR.pack(AF_INET, dst.prefixlen if dst else 0, src.prefixlen if src else 0, 0,
                              table if table < 256 else 0, 0, 0, action, 0)
    body += _attr(FRA_PRIORITY, struct.pack("=I", int(obj["pref"])))
    if src is not None:
        body += _attr(FRA_SRC, src.network_address.packed)
    if dst is not None:
        body += _attr(FRA_DST, dst.network_address.packed)
    if table:
        body += _attr(FRA_TABLE, struct.pack("=I", table))
    if obj.get("ipproto"):
        body += _attr(FRA_IP_PROTO, struct.pack("=B", int(obj["ipproto"])))
    for key, kind in (("sport", FRA_SPORT_RANGE), ("dport", FRA_DPORT_RANGE)):
        if obj.get(key):
            low, _, high = str(obj[key]).partition("-")
            body += _attr(kind, _PORT_RANGE.pack(int(low), int(high or low)))
    return body


def new_rule(obj: dict[str, Any]) -> Request:
    return Request(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, _rule_body(obj), f"rule pref {obj['pref']} {obj['action']}")


def del_rule(obj: dict[str, Any]) -> Request:
    return Request(RTM_DELRULE, 0, _rule_body(obj), f"delete rule pref {obj['pref']} {obj['action']}")


def read_rules(channel: Channel) -> list[dict[str, Any]]:
    """Every IPv4 policy-routing rule, in the document's vocabulary."""
    rules = []
    for payload in channel.dump(RTM_GETRULE, _FIB_RULE_HDR.pack(AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)):
        _, dst_len, src_len, _, table, _, _, action, _ = _FIB_RULE_HDR.unpack_from(payload)
        found = attrs(payload, _FIB_RULE_HDR.size)
        if FRA_TABLE in found:
            table = struct.unpack("=I", found[FRA_TABLE])[0]
        if action == FR_ACT_TO_TBL:
            names = {number: name for name, number in TABLES.items()}
            action_text = f"lookup {names.get(table, table)}"
        else:
            action_text = next((name for name, number in RULE_ACTIONS.items() if number == action), f"action {action}")
        rule: dict[str, Any] = {"pref": struct.unpack("=I", found[FRA_PRIORITY])[0] if FRA_PRIORITY in found else 0}
        rule["src"] = f"{ipaddress.IPv4Address(found[FRA_SRC])}/{src_len}" if FRA_SRC in found else None
        rule["dst"] = f"{ipaddress.IPv4Address(found[FRA_DST])}/{dst_len}" if FRA_DST in found else None
        rule["ipproto"] = found[FRA_IP_PROTO][0] if FRA_IP_PROTO in found else None
        for key, kind in (("sport", FRA_SPORT_RANGE), ("dport", FRA_DPORT_RANGE)):
            rule[key] = None
            if kind in found:
                low, high = _PORT_RANGE.unpack_from(found[kind])
                rule[key] = str(low) if low == high else f"{low}-{high}"
        rule["action"] = action_text
        rules.append(rule)
    return rules


# -- the socket ---------------------------------------------------------------------------------

_libc = ctypes.CDLL("libc.so.6", use_errno=True)
_setns_lock = threading.Lock()


def netns_socket(netns: str | None) -> socket.socket:
    """A NETLINK_ROUTE socket living in network namespace ``netns`` (None: this one).

    The calling thread enters the namespace only to create the socket, then returns.
    """
    if netns is None:
        return _bound(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE))
    path = f"/run/netns/{netns}"
    with _setns_lock:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            target = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            os.close(own)
            raise
        try:
            if _libc.setns(target, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns {path}: {os.strerror(err)}")
            try:
                sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            finally:
                if _libc.setns(own, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "cannot return to the original network namespace")
        finally:
            os.close(own)
            os.close(target)
    return _bound(sock)


def _bound(sock: socket.socket) -> socket.socket:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 21)
    sock.bind((0, 0))
    return sock


class Channel:
    """Batched requests and dumps over one netlink socket."""

    CHUNK = 200_000

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.seq = 1

    def close(self) -> None:
        self.sock.close()

    def batch(self, requests: list[Request]) -> None:
        """Send every request, many per syscall; raise NetlinkError for the first the kernel refused.

        rtnetlink handles a send() synchronously, so only the last request of each chunk asks for an
        ACK: when it arrives, the error replies of any earlier request (which carry its sequence
        number) are already queued. Requests are applied in order; after a refusal the rest of its
        chunk may have been applied too.
        """
        index = 0
        while index < len(requests):
            chunk = bytearray()
            first_seq = self.seq + 1
            start = index
            while index < len(requests) and (not chunk or len(chunk) + len(requests[index].body) < self.CHUNK):
                request = requests[index]
                last = index + 1 == len(requests) or len(chunk) + len(request.body) + len(requests[index + 1].body) \
                    + 2 * _HDR.size >= self.CHUNK
                flags = NLM_F_REQUEST | request.flags | (NLM_F_ACK if last else 0)
                chunk += _HDR.pack(_HDR.size + len(request.body), request.kind, flags, self._next(), 0) + request.body
                index += 1
            last_seq = self.seq
            self.sock.send(chunk)
            first_error: NetlinkError | None = None
            done = False
            while not done:
                for mtype, _, seq, payload in self._recv():
                    if mtype != NLMSG_ERROR or not first_seq <= seq <= last_seq:
                        continue
                    (error,) = struct.unpack_from("=i", payload)
                    if error and first_error is None:
                        position = start + seq - first_seq
                        first_error = NetlinkError(-error, position, requests[position].what)
                    done = done or seq == last_seq
            if first_error is not None:
                raise first_error

    def dump(self, kind: int, body: bytes) -> list[bytes]:
        seq = self._next()
        self.sock.send(_HDR.pack(_HDR.size + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body)
        result: list[bytes] = []
        while True:
            for mtype, _, got, payload in self._recv():
                if got != seq:
                    continue
                if mtype == NLMSG_DONE:
                    return result
                if mtype == NLMSG_ERROR:
                    (error,) = struct.unpack_from("=i", payload)
                    if error:
                        raise NetlinkError(-error, 0, "dump")
                    return result
                result.append(payload)

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _recv(self) -> list[tuple[int, int, int, bytes]]:
        data = self.sock.recv(1 << 21)
        messages = []
        offset = 0
        while offset + _HDR.size <= len(data):
            length, mtype, flags, seq, _ = _HDR.unpack_from(data, offset)
            messages.append((mtype, flags, seq, data[offset + _HDR.size: offset + length]))
            offset += (length + 3) & ~3
        return messages


# -- decoding -----------------------------------------------------------------------------------

def attrs(data: bytes, offset: int = 0) -> dict[int, bytes]:
    result: dict[int, bytes] = {}
    while offset + _RTA.size <= len(data):
        length, kind = _RTA.unpack_from(data, offset)
        if length < _RTA.size:
            break
        result[kind & 0x3FFF] = data[offset + _RTA.size: offset + length]
        offset += (length + 3) & ~3
    return result


def decode_tc(payload: bytes) -> tuple[int, int, int, int, dict[int, bytes]]:
    """(ifindex, handle, parent, info, attributes) of a qdisc, class or filter message."""
    _, ifindex, own, parent, info = _TCMSG.unpack_from(payload)
    return ifindex, own, parent, info, attrs(payload, _TCMSG.size)


def kind_of(attributes: dict[int, bytes]) -> str:
    return attributes.get(TCA_KIND, b"").rstrip(b"\0").decode()


def htb_default(options: bytes) -> str:
    init = attrs(options).get(TCA_HTB_INIT)
    return f"{_HTB_GLOB.unpack_from(init)[2]:x}" if init else "0"


def htb_r2q(options: bytes) -> int:
    init = attrs(options).get(TCA_HTB_INIT)
    return int(_HTB_GLOB.unpack_from(init)[1]) if init else 10


def htb_class(options: bytes) -> tuple[int, int, int]:
    """(rate bps, ceil bps, prio) of an HTB class."""
    parsed = attrs(options)
    parms = parsed[TCA_HTB_PARMS]
    rate = _RATESPEC.unpack_from(parms, 0)[5]
    ceil = _RATESPEC.unpack_from(parms, 12)[5]
    prio = _HTB_OPT_TAIL.unpack_from(parms, 24)[4]
    if TCA_HTB_RATE64 in parsed:
        rate = struct.unpack("=Q", parsed[TCA_HTB_RATE64])[0]
    if TCA_HTB_CEIL64 in parsed:
        ceil = struct.unpack("=Q", parsed[TCA_HTB_CEIL64])[0]
    return rate * 8, ceil * 8, prio


def u32_filter(options: bytes) -> tuple[list[list[str]], int | None, int | None] | None:
    """(match keys, flowid, mirred target ifindex) of a u32 filter; None for hash-table nodes."""
    parsed = attrs(options)
    sel = parsed.get(TCA_U32_SEL)
    if sel is None:
        return None
    nkeys = _U32_SEL.unpack_from(sel)[2]
    keys = []
    for index in range(nkeys):
        base = _U32_SEL.size + index * 16
        mask, value = _U32_KEY.unpack_from(sel, base)
        offset, _ = _U32_KEY_OFF.unpack_from(sel, base + 8)
        keys.append((offset, mask, value))
    flowid = struct.unpack("=I", parsed[TCA_U32_CLASSID])[0] if TCA_U32_CLASSID in parsed else None
    target = None
    if TCA_U32_ACT in parsed:
        for action in attrs(parsed[TCA_U32_ACT]).values():
            inner = attrs(action)
            if inner.get(TCA_ACT_KIND, b"").rstrip(b"\0") == b"mirred":
                parms = attrs(inner.get(TCA_ACT_OPTIONS, b"")).get(TCA_MIRRED_PARMS)
                if parms:
                    target = struct.unpack_from("=IIiiiiI", parms)[6]
    return _matches(keys), flowid, target


def _matches(keys: list[tuple[int, int, int]]) -> list[list[str]]:
    """u32 keys back into our match vocabulary, in the order the compiler writes them."""
    named: dict[str, list[str]] = {}
    rest: list[list[str]] = []
    for offset, mask, value in keys:
        if offset in (12, 16) and mask and bin(mask).count("1") == 32 - (mask ^ 0xFFFFFFFF).bit_length():
            prefix = bin(mask).count("1")
            named["src" if offset == 12 else "dst"] = ["src" if offset == 12 else "dst",
                                                       f"{ipaddress.IPv4Address(value)}/{prefix}"]
        elif offset == 0 and mask and mask & ~0x00FF0000 == 0:
            named["tos"] = ["tos", f"0x{(value >> 16) & 0xFF:02x}", f"0x{(mask >> 16) & 0xFF:02x}"]
        elif offset == 8 and mask == 0x00FF0000:
            named["protocol"] = ["protocol", str(value >> 16), "0xff"]
        elif offset == 20 and mask and mask & ~0xFFFF == 0:
            named["dport"] = ["dport", str(value), f"0x{mask:04x}"]
        else:
            rest.append(["u32", f"{value:x}" if value else "0", f"{mask:x}" if mask else "0"])
    return [named[name] for name in ("src", "dst", "tos", "protocol", "dport") if name in named] + rest


def read_tc(channel: Channel, names: dict[int, str]) -> tuple[list[Any], list[Any], list[Any]]:
    qdiscs: list[dict[str, Any]] = []
    classes: list[dict[str, Any]] = []
    filters: list[dict[str, Any]] = []
    with_tc: dict[int, list[int]] = {}  # ifindex -> parents that may hold filters
    for payload in channel.dump(RTM_GETQDISC, tcmsg(0)):
        ifindex, own, parent, _, attributes = decode_tc(payload)
        kind = kind_of(attributes)
        if ifindex not in names or own == 0:
            continue  # the kernel's default qdisc (noqueue, pfifo_fast, mq...): nothing set up
        dev = names[ifindex]
        if kind == "ingress" or kind == "clsact":
            qdiscs.append({"dev": dev, "parent": "ingress", "handle": "ffff:", "kind": kind})
            with_tc.setdefault(ifindex, []).append(0xFFFF0000)
            continue
        entry: dict[str, Any] = {"dev": dev, "parent": handle_text(parent), "handle": handle_text(own),
                                 "kind": kind}
        if kind == "htb":
            entry["default"] = htb_default(attributes.get(TCA_OPTIONS, b""))
            r2q = htb_r2q(attributes.get(TCA_OPTIONS, b""))
            if r2q != 10:
                entry["r2q"] = r2q
        qdiscs.append(entry)
        if parent == TC_H_ROOT or kind in ("drr", "htb"):  # a share tree (drr/htb leaf) holds filters too
            with_tc.setdefault(ifindex, []).append(own)
    for ifindex in sorted(with_tc):
        dev = names[ifindex]
        for payload in channel.dump(RTM_GETTCLASS, tcmsg(ifindex)):
            _, own, parent, _, attributes = decode_tc(payload)
            if kind_of(attributes) == "drr":
                quantum = attrs(attributes.get(TCA_OPTIONS, b"")).get(TCA_DRR_QUANTUM)
                classes.append({"dev": dev, "classid": handle_text(own), "parent": f"{own >> 16:x}:", "kind": "drr",
                                "quantum": struct.unpack("=I", quantum)[0] if quantum else 0})
                continue
            if kind_of(attributes) != "htb":
                continue
            rate, ceil, prio = htb_class(attributes.get(TCA_OPTIONS, b""))
            top = parent == TC_H_ROOT  # the kernel reports a top class's parent as root
            classes.append({"dev": dev, "classid": handle_text(own),
                            "parent": f"{own >> 16:x}:" if top else handle_text(parent),
                            "kind": "htb", "rate": rate, "ceil": ceil, "prio": None if top else prio})
        for parent_handle in with_tc[ifindex]:
            body = tcmsg(ifindex, 0, parent_handle)
            for payload in channel.dump(RTM_GETTFILTER, body):
                _, _, _, info, attributes = decode_tc(payload)
                if kind_of(attributes) != "u32":
                    continue
                decoded = u32_filter(attributes.get(TCA_OPTIONS, b""))
                if decoded is None:
                    continue
                match, flowid, target = decoded
                parent_text = "ffff:" if parent_handle == 0xFFFF0000 else handle_text(parent_handle & 0xFFFF0000)
                protocol = next((name for name, value in PROTOCOLS.items() if socket.htons(value) == info & 0xFFFF), "ip")
                filters.append({
                    "dev": dev, "parent": parent_text, "protocol": protocol, "pref": info >> 16, "match": match,
                    "flowid": handle_text(flowid) if flowid else None,
                    "action": f"mirred egress redirect dev {names.get(target, target)}" if target else None,
                })
    return qdiscs, classes, filters


TCA_STATS2, TCA_STATS_BASIC, TCA_STATS_QUEUE = 7, 1, 3


def class_stats(channel: Channel, names: dict[int, str], devices: list[str]) -> list[dict[str, Any]]:
    """Bytes, packets, drops and overlimits of every HTB (and DRR) class on ``devices`` (gnet_stats_basic/queue)."""
    indexes = {name: index for index, name in names.items()}
    stats = []
    for dev in devices:
        if dev not in indexes:
            continue
        for payload in channel.dump(RTM_GETTCLASS, tcmsg(indexes[dev])):
            _, own, _, _, attributes = decode_tc(payload)
            if kind_of(attributes) not in ("htb", "drr"):
                continue  # fq_codel and sfq list their flows as classes too
            nested = attrs(attributes.get(TCA_STATS2, b""))
            basic, queue = nested.get(TCA_STATS_BASIC, b""), nested.get(TCA_STATS_QUEUE, b"")
            sent_bytes, packets = struct.unpack_from("=QI", basic) if len(basic) >= 12 else (0, 0)
            drops, overlimits = (struct.unpack_from("=IIIII", queue)[2], struct.unpack_from("=IIIII", queue)[4]) \
                if len(queue) >= 20 else (0, 0)
            stats.append({"dev": dev, "classid": handle_text(own), "bytes": sent_bytes, "packets": packets,
                          "drops": drops, "overlimits": overlimits})
    return stats
