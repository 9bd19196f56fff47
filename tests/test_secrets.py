"""A corpus test: no secret from the inventory, the environment or a running config appears in any
output of any command: plan (every format and --out), validate, apply results, errors, history."""

from __future__ import annotations

import json
from pathlib import Path

from engine.secrets import mask
from tests.conftest import SiteDir, run_intent

INVENTORY_SECRET = "Inv3ntoryPassw0rd"  # plaintext in the inventory (allowed by flag)
ENV_SECRET = "Env1ronmentPassw0rd"  # from password_env
RUNNING_SECRETS = ["$9$Qx7v2Lp0m4$Tz8sYk1Jw3Hq6Nf9Bd2Gc5Rv7Xa0Ue4Io3Pl8Km1Sn6", "sn1mpC0mmunity",
                   "0822455D0A16544541", "tacacsK3y", "Pr3Sh4redK3y", "$9$dGVzdC1qdW5vcy1zZWNyZXQ"]
RUNNING = """\
hostname acc1
!
enable secret 9 $9$Qx7v2Lp0m4$Tz8sYk1Jw3Hq6Nf9Bd2Gc5Rv7Xa0Ue4Io3Pl8Km1Sn6
username netops privilege 15 password 0 Inv3ntoryPassw0rd
!
interface GigabitEthernet1/0/1
 description uplink
!
interface GigabitEthernet1/0/3
 description desk
!
snmp-server community sn1mpC0mmunity RO
tacacs-server host 192.0.2.50 key 7 0822455D0A16544541
radius-server key tacacsK3y
crypto isakmp key Pr3Sh4redK3y address 0.0.0.0
end
"""


def outputs(site: SiteDir, *args: str) -> list[str]:
    result = run_intent(*args, env={"SECRET_PW": ENV_SECRET, "INTENT_STATE_DIR": str(site.root / "state")})
    return [result.stdout, result.stderr]


def test_no_secret_in_any_output(tmp_path: Path) -> None:
    site = SiteDir(tmp_path)
    site.write("inventory.yaml", f"""\
        all:
          hosts:
            core1: {{platform: linux, netns: nonexistent-core1}}
            acc1: {{platform: ios, host: 192.0.2.21, ansible_password: {INVENTORY_SECRET},
                    napalm_driver: mock, napalm_optional_args: {{path: acc1-recorded}}}}
            acc2: {{platform: eos, host: 192.0.2.22, password_env: SECRET_PW,
                    napalm_driver: mock, napalm_optional_args: {{path: acc2-recorded}}}}
        """)
    site.write("topology.yaml", """\
        links:
          - {a: core1:eth1, b: acc1:GigabitEthernet1/0/1, bandwidth: 1Gbps}
          - {a: core1:eth2, b: acc2:Ethernet1, bandwidth: 1Gbps}
        """)
    site.write("site.yaml", """\
        site: secrets
        inventory: inventory.yaml
        topology: topology.yaml
        intents:
          - name: users
            vlan: {id: 10, subnet: 10.10.0.0/24, gateway: core1, access: [acc1:GigabitEthernet1/0/3]}
          - name: video
            vlan: {id: 20, subnet: 10.20.0.0/24, gateway: core1, access: [acc2:Ethernet10]}
        """)
    site.write("running/acc1.cfg", RUNNING)
    site.write("running/acc2.cfg", RUNNING.replace("hostname acc1", "hostname acc2").replace(
        "username netops privilege 15 password 0 Inv3ntoryPassw0rd",
        f"username admin secret {ENV_SECRET}\nset system root-authentication encrypted-password "
        "\"$9$dGVzdC1qdW5vcy1zZWNyZXQ\""))
    # The vendor devices' NAPALM (mock) answers: their running config holds secrets, and a commit
    # fails with an error that quotes one, as real devices sometimes do.
    for name in ("acc1", "acc2"):
        directory = tmp_path / f"{name}-recorded"
        directory.mkdir()
        text = (tmp_path / "running" / f"{name}.cfg").read_text()
        for number in (1, 2):
            (directory / f"get_config.{number}").write_text(json.dumps({"running": text}))
        (directory / "load_merge_candidate.1").write_text("{}")
        (directory / "compare_config.1").write_text(json.dumps({"diff": "+vlan 10\n snmp-server community "
                                                                        "sn1mpC0mmunity RO"}))
        (directory / "discard_config.1").write_text("{}")
        (directory / "commit_config.1").write_text(json.dumps({
            "exception": "napalm.base.exceptions.MergeConfigException",
            "args": [f"line 3: username netops password {INVENTORY_SECRET} / {ENV_SECRET} rejected"]}))

    collected: list[str] = []
    running = str(tmp_path / "running")
    for fmt in ("text", "json", "markdown"):
        out = tmp_path / f"plan-{fmt}.json"
        collected += outputs(site, "plan", str(site.site), "--running", running, "--format", fmt, "--out", str(out),
                             "--allow-plaintext-secrets")
        collected.append(out.read_text())
    collected += outputs(site, "validate", str(site.site))  # refused: plaintext password (the message must not quote it)
    collected += outputs(site, "validate", str(site.site), "--allow-plaintext-secrets")
    collected += outputs(site, "apply", str(site.site), "--yes", "--allow-plaintext-secrets")  # core1 is unreachable
    site.write("inventory.yaml", (tmp_path / "inventory.yaml").read_text().replace(
        "core1: {platform: linux, netns: nonexistent-core1}", "core1: {platform: ios, napalm_driver: mock, "
        "password_env: SECRET_PW, napalm_optional_args: {path: acc1-recorded}}").replace("core1:eth", "core1:Ethernet"))
    site.write("topology.yaml", (tmp_path / "topology.yaml").read_text().replace("core1:eth", "core1:Ethernet"))
    collected += outputs(site, "apply", str(site.site), "--yes", "--allow-plaintext-secrets")  # commits fail
    collected += outputs(site, "history", str(site.site))
    collected += [path.read_text() for path in (tmp_path / "state").rglob("applies.jsonl")]

    corpus = "\n".join(collected)
    assert "rejected" in corpus and "<masked>" in corpus  # the failing commits were reported, masked
    for secret in [INVENTORY_SECRET, ENV_SECRET, *RUNNING_SECRETS]:
        assert secret not in corpus, f"{secret!r} leaked"


def test_masking_patterns() -> None:
    text = mask("enable secret 5 $1$abc$xyz\nsnmp-server community public RO\n key 7 045802150C2E\n"
                "snmp-server user u g v3 auth sha AUTHPW priv aes 128 PRIVPW\ncrypto isakmp key K3Y address 0.0.0.0")
    for secret in ("$1$abc$xyz", "public", "045802150C2E", "AUTHPW", "PRIVPW", "K3Y"):
        assert secret not in text


def test_a_missing_secret_is_prompted_once_and_kept_for_this_process(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from drivers.ssh import password_for
    from engine.model import Device

    asked: list[str] = []
    monkeypatch.delenv("PROMPTED_PW", raising=False)

    def prompt(label: str) -> str:
        asked.append(label)
        return "typed-secret"

    one = Device("sw1", "ios", "napalm", username="netops", password_env="PROMPTED_PW")
    two = Device("sw2", "ios", "napalm", username="netops", password_env="PROMPTED_PW")
    assert password_for(one, prompt) == "typed-secret" and password_for(two, prompt) == "typed-secret"
    assert asked == ["password for netops@sw1 ($PROMPTED_PW): "]  # asked once, for the variable
    import os

    assert os.environ["PROMPTED_PW"] == "typed-secret"  # so children (the reverter) and the masker have it
