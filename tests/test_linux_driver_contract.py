"""One contract, every Linux transport: a local namespace and a remote host over real SSH.

Same desired state, same diff, apply, verify, no-op re-apply, discard, and rollback to a
byte-identical dump. Then what only SSH has: host keys checked against known_hosts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.linux import LinuxDriver
from drivers.ssh import ConnectOptions
from engine.compiler import compile_site
from engine.errors import CommitError, ConnectError
from engine.loader import load_site
from engine.model import Device
from tests.conftest import SiteDir
from tests.sshlab import RemoteHost

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and sshd")

SITE = """\
site: contract
inventory: inventory.yaml
topology: topology.yaml
intents:
  - name: users
    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: r1, access: [r1:eth3]}
  - name: video
    vlan: {id: 20, subnet: 10.20.0.0/24, gateway: r1, access: [peer:eth3]}
  - name: video-10-20
    qos_guarantee: {between: [{vlan: 10}, {vlan: 20}], rate: 20Mbps, queue: pfifo, match: {dscp: ef}}
  - name: cap-users
    qos_limit: {vlan: 10, rate: 5Mbps}
"""


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteHost]:
    host = RemoteHost(tmp_path_factory.mktemp("sshd"))
    host.start()
    yield host
    host.stop()


@pytest.fixture
def desired(tmp_path: Path, remote: RemoteHost) -> dict:
    site = SiteDir(tmp_path)
    site.write("inventory.yaml", "all:\n  vars: {platform: linux}\n  hosts:\n    r1: {netns: x}\n    peer: {netns: y}\n")
    site.write("topology.yaml", "links:\n  - {a: r1:eth1, b: peer:eth0, bandwidth: 100Mbps}\n")
    site.write("site.yaml", SITE)
    document = compile_site(load_site(site.site)).configs["r1"].document
    assert document is not None
    return document


def make_driver(kind: str, remote: RemoteHost, work: Path) -> LinuxDriver:
    if kind == "netns":
        device = Device("r1", "linux", "linux", netns=remote.netns)
        return LinuxDriver(device, work)
    known = work / "known_hosts"
    known.parent.mkdir(parents=True, exist_ok=True)
    known.write_text(remote.known_hosts_line())
    device = Device("r1", "linux", "linux", host=remote.address, username="root",
                    key_file=str(remote.client_key))
    return LinuxDriver(device, work, ConnectOptions(known))


@pytest.mark.parametrize("kind", ["netns", "ssh"])
def test_driver_contract(kind: str, remote: RemoteHost, desired: dict, tmp_path: Path) -> None:
    work = tmp_path / "work"
    with make_driver(kind, remote, work) as driver:
        before = driver.get_running()
        diff = driver.stage_document(desired)
        assert "+tc class replace dev eth1 parent 1:1 classid" in diff and "+ip link add ifb10 type ifb" in diff
        driver.discard()
        with pytest.raises(CommitError, match="nothing staged"):
            driver.commit()
        assert driver.get_running() == before  # a discarded stage changed nothing

        driver.stage_document(desired)
        driver.commit()  # verifies by reading back
        assert driver.changes > 10
        tc = remote.run("tc", "filter", "show", "dev", "br10", "parent", "ffff:")
        assert "mirred" in tc and "ifb10" in tc
        assert "rate 20Mbit" in remote.run("tc", "class", "show", "dev", "eth1")

        assert driver.stage_document(desired) == ""  # nothing left to do
        driver.commit()
        assert driver.changes == 0

        driver.rollback(before)
        assert driver.get_running() == before


def test_both_transports_read_the_same_state(remote: RemoteHost, desired: dict, tmp_path: Path) -> None:
    with make_driver("netns", remote, tmp_path / "a") as local:
        before = local.get_running()
        local.stage_document(desired)
        local.commit()
        try:
            with make_driver("ssh", remote, tmp_path / "b") as over_ssh:
                # "kernel" included: the remote kernel is probed over SSH by the same code (drr, nftables)
                remote_state, local_state = over_ssh.read(), local.read()
                assert set(remote_state["kernel"]) == {"drr", "nftables"}
                assert {k: v for k, v in remote_state.items() if k != "owned"} == \
                       {k: v for k, v in local_state.items() if k != "owned"}
        finally:
            local.rollback(before)


def test_unknown_host_key_is_refused_with_its_fingerprint(remote: RemoteHost, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    device = Device("r1", "linux", "linux", host=remote.address, username="root",
                    key_file=str(remote.client_key))
    with pytest.raises(ConnectError) as info:
        LinuxDriver(device, tmp_path, ConnectOptions(known)).open()
    assert f"r1: unknown SSH host key for {remote.address} (ssh-ed25519 SHA256:" in str(info.value)
    assert "--accept-new-host-keys" in str(info.value)
    assert not known.exists()


def test_accept_new_records_the_key_and_a_changed_key_is_always_refused(remote: RemoteHost, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    device = Device("r1", "linux", "linux", host=remote.address, username="root",
                    key_file=str(remote.client_key))
    with LinuxDriver(device, tmp_path, ConnectOptions(known, accept_new_host_keys=True)) as driver:
        driver.read()
    assert known.read_text().split()[:2] == remote.known_hosts_line().split()[:2]
    with LinuxDriver(device, tmp_path, ConnectOptions(known)) as driver:  # now known: strict works
        driver.read()
    known.write_text(remote.wrong_known_hosts_line())
    with pytest.raises(ConnectError, match="SSH host key for .* CHANGED"):
        LinuxDriver(device, tmp_path, ConnectOptions(known, accept_new_host_keys=True)).open()


def test_wrong_credentials_are_a_clear_error(remote: RemoteHost, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(remote.known_hosts_line())
    device = Device("r1", "linux", "linux", host=remote.address, username="root",
                    key_file=str(remote.other_key))
    with pytest.raises(ConnectError, match=f"SSH authentication failed for user root at {remote.address}"):
        LinuxDriver(device, tmp_path, ConnectOptions(known)).open()


def test_a_host_that_cannot_be_probed_renders_what_every_kernel_has(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    """The agent on a host where no scratch namespace can be made (here: no `ip` on its PATH; on a real
    host, a user without root) says so instead of failing the read; the driver then reports no
    ``kernel``, so the plan renders the forms every kernel has and says the kernel was not probed."""
    from drivers.linux import agent
    from drivers.linux.transport import SSHTransport

    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: neither ip nor nft
    answer = agent.handle({"op": "probe", "features": [["qdisc", "drr"], ["nft", "inet"]]})
    assert answer["unprobed"].startswith("cannot make a scratch network namespace:")
    monkeypatch.undo()

    calls: list[dict] = []

    def agent_answers(request: dict) -> dict:  # the agent's answer above, as the SSH transport would get it
        calls.append(request)
        return answer

    transport = SSHTransport("r1", client=None, become=False)
    monkeypatch.setattr(transport, "_call", agent_answers)
    assert transport.probe([("qdisc", "drr"), ("nft", "inet")]) == {}
    assert transport.probe([("qdisc", "fq_codel")]) == {}  # asked once per connection, not again
    assert len(calls) == 1
    driver = LinuxDriver(Device("r1", "linux", "linux", host="192.0.2.1"), tmp_path)
    driver._transport = transport
    assert driver.kernel_features() is None
    assert driver.missing_features({"qdiscs": [{"kind": "fq_codel"}], "nftables": [{}]}) == []  # unknown is not refused
