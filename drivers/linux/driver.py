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
from pathlib import Path
from typing import Any

from pyroute2.netlink.exceptions import NetlinkError as Pyroute2Error

from drivers.base import Lifecycle, vendor_errors
from drivers.linux import netlink
from drivers.linux.ops import TcOp, plan_ops
from drivers.linux.transport import Feature, LocalTransport, SSHTransport, Transport, kernel_has
from engine import linux
from engine.errors import CommitError, DriverError, RollbackError
from engine.model import Device
from engine.plan import DevicePlan, linux_diff
from engine.render import DeviceConfig

ENOSPC = 28
FOREIGN_OK = {"htb", "ingress", "pfifo", "bfifo", "fq_codel", "sfq", "drr"}  # the qdiscs intent knows how to make
__all__ = ["LinuxDriver", "kernel_has"]


class LinuxDriver(Lifecycle):
    """One Linux device: a local network namespace (``netns``) or a remote host over SSH (``host``)."""

    def __init__(self, device: Device, work_dir: Path, options: Any = None) -> None:
        self.device = device.name
        self.netns = device.netns
        self.work_dir = work_dir
        self._spec = device
        self._options = options  # drivers.ssh.ConnectOptions for remote hosts
        self._transport: Transport | None = None
        self._staged: tuple[dict[str, Any], dict[str, Any]] | None = None  # (running, desired)
        self.changes = 0  # requests sent by the last commit or rollback
        self._wanted: list[str] | None = None  # lines of the staged desired state

    # -- lifecycle --------------------------------------------------------------------------

    def open(self) -> None:
        if self.netns is not None:
            self._transport = LocalTransport(self.device, self.netns)
            return
        from drivers.ssh import ConnectOptions, connect

        options = self._options or ConnectOptions()
        client = connect(self._spec, options)
        self._transport = SSHTransport(self.device, client, self._spec.become, options.command_timeout)

    def close(self) -> None:
        self._staged = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None


    @property
    def transport(self) -> Transport:
        if self._transport is None:
            raise DriverError(self.device, "driver is not open")
        return self._transport

    # -- reading ----------------------------------------------------------------------------

    @property
    def owned_file(self) -> Path:
        return self.work_dir / "owned.json"

    def owned(self) -> list[str]:
        """The keys intent owns on the device; a record that is not a JSON list of keys is refused,
        naming the file (guessing what intent owns could remove hand-made objects)."""
        try:
            loaded = json.loads(self.owned_file.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise DriverError(self.device, f"its ownership record {self.owned_file} cannot be read ({exc}); "
                                           "restore the file, or remove it and re-apply") from None
        if not isinstance(loaded, list) or not all(isinstance(key, str) for key in loaded):
            raise DriverError(self.device, f"its ownership record {self.owned_file} is not a list of keys; "
                                           "restore the file, or remove it and re-apply")
        return loaded

    def read(self) -> dict[str, Any]:
        """The device's whole state, with the keys intent owns there."""
        with vendor_errors(self.device, DriverError, "cannot read state", (OSError, Pyroute2Error)):
            document = self.transport.read(self.device)
        document["owned"] = self.owned()
        kernel = self.kernel_features()  # what changes how intents render (the plan decides)
        if kernel is not None:
            document["kernel"] = kernel
        return document

    def kernel_features(self) -> dict[str, bool] | None:
        """``{"drr": True, "nftables": True}``: probed on the device's kernel, local or over SSH alike;
        None where the kernel could not be probed (the plan then renders what every kernel has, and says so)."""
        with vendor_errors(self.device, DriverError, "cannot probe the kernel", (OSError, subprocess.SubprocessError)):
            found = self.transport.probe(list(RENDER_FEATURES.values()))
        if any(feature not in found for feature in RENDER_FEATURES.values()):
            return None
        return {name: found[feature] for name, feature in RENDER_FEATURES.items()}

    def get_running(self) -> str:
        return json.dumps(self.read(), indent=2, sort_keys=True) + "\n"

    def probe(self, config: DeviceConfig) -> list[str]:
        """Kernel features the desired state needs that this kernel lacks, as sentences for the user."""
        kernel = "a kernel that has it (make test-kernel runs the full-kernel lab)"
        return [f"the kernel lacks {feature}; " + (f"use queue: pfifo in the intent, or {kernel}"
                                                   if feature.startswith("qdisc") else f"use {kernel}")
                for feature in self.missing_features(config.document or {})]

    def missing_features(self, desired: dict[str, Any]) -> list[str]:
        """Kernel features ``desired`` needs that the device's kernel lacks: ["qdisc fq_codel", "ifb devices"]."""
        wanted_qdiscs = sorted({q["kind"] for q in desired.get("qdiscs") or []} - {"htb", "ingress"})
        needed: dict[Feature, str] = {("qdisc", kind): f"qdisc {kind}" for kind in wanted_qdiscs}
        if any(link.get("kind") == "vlan" for link in desired.get("links") or []):
            needed[("link", "vlan")] = "802.1Q VLAN devices (8021q)"
        if any(link.get("kind") == "ifb" for link in desired.get("links") or []):
            needed[("link", "ifb")] = "ifb devices"
        if desired.get("nftables"):
            needed[RENDER_FEATURES["nftables"]] = "nftables (the nft tool and nf_tables)"
        if not needed:
            return []
        with vendor_errors(self.device, DriverError, "cannot probe the kernel", (OSError, subprocess.SubprocessError)):
            found = self.transport.probe(list(needed))
        return [sentence for feature, sentence in needed.items() if found.get(feature) is False]  # unknown: not refused

    def class_stats(self, devices: list[str]) -> list[dict[str, Any]]:
        """Counters of every HTB class on these interfaces: bytes, packets, drops, overlimits."""
        return self.transport.class_stats(devices)

    # -- changing ---------------------------------------------------------------------------

    def stage(self, config: DeviceConfig, plan: DevicePlan | None = None) -> str:
        """Stage the state document (the plan of a Linux device is its document: ``plan`` adds nothing)."""
        if config.document is None:
            raise DriverError(self.device, f"not a Linux configuration ({config.platform})")
        return self.stage_document(config.document)

    def stage_document(self, desired: dict[str, Any]) -> str:
        """Compute the change to ``desired``; nothing is sent yet. Returns the unified diff."""
        running = self.read()
        desired = linux.canonical(desired)
        self._staged = (running, desired)
        self._wanted = linux.lines(desired)
        return linux_diff(self.device, running, desired, self._wanted)

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
        with vendor_errors(self.device, CommitError, f"cannot write its ownership record {self.owned_file}, "
                                                     "nothing was sent", (OSError,), lambda e: getattr(e, "strerror", None) or str(e)):
            self._write_owned(sorted(set(running.get("owned") or []) | set(keys)))
        if revert_in:
            self._arm(running, revert_in)
        with vendor_errors(self.device, CommitError, "", (netlink.NetlinkError, Pyroute2Error), _refused):
            self.changes = self._execute(running, desired)
        self._verify(desired, self._wanted, keys)
        self._write_owned(keys)
        self._staged = None

    def rollback(self, snapshot: str) -> None:
        """Make every object intent touched equal to ``snapshot`` (a ``get_running()`` text) again."""
        try:
            with vendor_errors(self.device, RollbackError, "restore failed", (OSError, ValueError, Pyroute2Error)):
                document = json.loads(snapshot)
                running = self.read()
                running["owned"] = sorted(set(running.get("owned") or []) | set(document.get("owned") or []))
                target = {k: v for k, v in document.items() if k != "owned"}
                self.changes = self._execute(running, linux.canonical(target))
                self._verify(target, owned=list(document.get("owned") or []))
                self._write_owned(list(document.get("owned") or []))
        except RollbackError:
            raise
        except DriverError as exc:  # ours, from reading or verifying: said again as a failed rollback
            raise RollbackError(self.device, str(exc).split(": ", 1)[-1]) from exc

    # -- commit-confirm ---------------------------------------------------------------------

    def _arm(self, running: dict[str, Any], seconds: int) -> None:
        from drivers import revert

        known = str(self._options.known_hosts) if self._options is not None else None
        revert.arm(self.work_dir, self._spec, json.dumps(running), seconds, {"known_hosts": known})

    def confirm(self) -> None:
        """Claim the armed revert before its deadline; after that the change stays."""
        from drivers import revert

        revert.claim(self.work_dir, self.device)

    # -- internals --------------------------------------------------------------------------

    def _write_owned(self, keys: list[str]) -> None:
        """Atomically (temporary file, rename); on a full file system, in place in the blocks the
        file already has, so that a restore still records what it restored."""
        if not keys and not self.owned_file.exists():
            return  # no record reads as owning nothing: nothing to write (a full disk restores all the same)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(keys, indent=0)
        tmp = self.owned_file.with_suffix(".tmp")
        try:
            tmp.write_text(text)
            tmp.replace(self.owned_file)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if exc.errno != ENOSPC or not self.owned_file.exists():
                raise
            with open(self.owned_file, "r+", encoding="utf-8") as handle:
                handle.write(text)
                handle.truncate()
                handle.flush()
                os.fsync(handle.fileno())

    def _verify(self, desired: dict[str, Any], wanted: list[str] | None = None, owned: list[str] | None = None) -> None:
        """Read the device back: what intent may touch must now equal ``desired`` line for line.

        ``owned``: what intent owns once the change stands (not the write-ahead union of before and
        after): a port released by a removed intent (its bridge gone, the port itself kept) is out of scope."""
        after = self.read()
        if owned is not None:
            after["owned"] = owned
        if linux.lines(linux.in_scope(after, desired)) == (wanted if wanted is not None else linux.lines(desired)):
            return
        raise CommitError(self.device, "verification failed: the device does not match after the change:\n"
                                       + linux_diff(self.device, after, desired))

    def _execute(self, running: dict[str, Any], desired: dict[str, Any]) -> int:
        """Make the in-scope part of the device equal ``desired``; return how many requests that took."""
        phases = plan_ops(running, desired)
        foreign = [op.obj for op in phases.tc_additions if op.verb == "add-qdisc" and op.obj["kind"] not in FOREIGN_OK]
        if foreign:
            raise CommitError(self.device, f"cannot create a {foreign[0]['kind']} qdisc on {foreign[0]['dev']}: intent "
                                           "only makes htb, ingress and leaf qdiscs (pfifo, bfifo, fq_codel, sfq)")
        transport = self.transport
        transport.forget_links()
        transport.tc([self._encode(op) for op in phases.tc_removals])
        transport.ip(phases.ip_changes)
        transport.forget_links()
        transport.tc([self._encode(op) for op in phases.tc_additions])
        return len(phases)

    def _encode(self, op: TcOp) -> netlink.Request:
        obj, index = op.obj, self.transport.index
        if op.verb == "del-qdisc":
            return netlink.del_qdisc(index(obj["dev"]), obj)
        if op.verb == "del-filters":
            return netlink.del_filters(index(obj["dev"]), obj["dev"], obj["parent"], int(obj["pref"]))
        if op.verb == "del-class":
            return netlink.del_class(index(obj["dev"]), obj)
        if op.verb == "add-qdisc":
            return netlink.new_qdisc(index(obj["dev"]), obj, replace=op.replace)
        if op.verb == "add-class":
            return netlink.new_class(index(obj["dev"]), obj)
        actions = netlink.mirred_redirect(index(obj["action"].split()[-1])) if obj.get("action") else b""
        return netlink.new_filter(index(obj["dev"]), obj, actions)


def _refused(exc: BaseException) -> str:
    """What the kernel said, for a CommitError: "kernel refused add-class 1:1a3 on eth2: File exists"."""
    if isinstance(exc, netlink.NetlinkError):
        return f"kernel refused {exc.what}: {os.strerror(exc.errno or 0)}"
    return f"kernel refused a change: {exc}"


# What changes how intents render on a device (the plan decides with it): qos_share as DRR, isolate as nftables.
RENDER_FEATURES: dict[str, tuple[str, str]] = {"drr": ("qdisc", "drr"), "nftables": ("nft", "inet")}
