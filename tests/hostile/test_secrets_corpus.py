"""A secrets corpus: every form of secret the five platforms print (tests/hostile/secrets/*, written by
hand from how IOS, EOS, NX-OS, Junos and Linux daemons show them), run through every output: plan
(text, json, markdown, --out), apply and its errors, history, show, validate's refusals, and the
stored files. Not one raw secret may come out. Every secret in the corpus is a word starting with
its platform's name (IosEnableScrypt1, JunosNtpValue...), so the test finds them all by that rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.secrets import mask
from tests.conftest import SiteDir, run_intent

CORPUS = Path(__file__).resolve().parent / "secrets"
SECRET = re.compile(r"(?:Ios|Eos|Nxos|Junos|Linux)[A-Za-z0-9]+")
FILES = {"ios": "ios.cfg", "eos": "eos.cfg", "nxos": "nxos.cfg", "junos": "junos.cfg", "linux": "linux.conf"}
INVENTORY_PASSWORD = "InventoryLoginPw77"
BECOME_PASSWORD = "InventoryBecomePw88"
ENV_PASSWORD = "EnvironmentLoginPw99"


def secrets_of(text: str) -> set[str]:
    return set(SECRET.findall(text))


@pytest.mark.parametrize("platform", sorted(FILES))
def test_every_form_is_masked(platform: str) -> None:
    text = (CORPUS / FILES[platform]).read_text()
    found = secrets_of(text)
    assert len(found) >= 12, found  # the corpus is not empty by accident
    masked = mask(text)
    assert sorted(s for s in found if s in masked) == []
    assert masked.count("<masked>") >= len(found) - 2  # (a few lines carry two secrets that one mask covers)
    # what is not a secret stays readable
    for keep in ("hostname", "host-name", "description uplink", "interface", "router bgp 65001"):
        if keep in text:
            assert keep in masked


@pytest.mark.parametrize("platform", sorted(FILES))
@pytest.mark.parametrize("marker", ["+", "-", " "])
def test_every_form_is_masked_as_a_diff_line(platform: str, marker: str) -> None:
    """Diffs are masked whole: a secret on a line a unified diff marks added, removed or kept is masked too
    (a tacacs block's "key 7 ..." or an NX-OS block's "authentication text ..." once slipped past as "+ key")."""
    text = (CORPUS / FILES[platform]).read_text()
    diff = "\n".join(marker + line for line in text.splitlines())
    masked = mask(diff)
    assert sorted(s for s in secrets_of(text) if s in masked) == []
    assert len(masked.splitlines()) == len(diff.splitlines())


def test_masking_is_idempotent_and_keeps_line_structure() -> None:
    for name in FILES.values():
        text = (CORPUS / name).read_text()
        once = mask(text)
        assert mask(once) == once
        assert len(once.splitlines()) == len(text.splitlines())


def site(tmp_path: Path) -> SiteDir:
    site = SiteDir(tmp_path)
    site.write("inventory.yaml", f"""\
        all:
          vars:
            napalm_driver: mock
          hosts:
            core1: {{platform: linux, netns: hostile-secrets-core1}}
            acc1: {{platform: ios, host: 192.0.2.21, ansible_password: {INVENTORY_PASSWORD},
                    ansible_become_password: {BECOME_PASSWORD}, napalm_optional_args: {{path: rec-acc1}}}}
            acc2: {{platform: eos, host: 192.0.2.22, password_env: SECRET_PW, napalm_optional_args: {{path: rec-acc2}}}}
            dist1: {{platform: nxos, host: 192.0.2.23, password_env: SECRET_PW, napalm_optional_args: {{path: rec-dist1}}}}
            dc1: {{platform: junos, host: 192.0.2.24, password_env: SECRET_PW, napalm_optional_args: {{path: rec-dc1}}}}
        """)
    site.write("topology.yaml", """\
        links:
          - {a: core1:eth1, b: acc1:GigabitEthernet1/0/1, bandwidth: 1Gbps}
          - {a: core1:eth2, b: acc2:Ethernet1, bandwidth: 1Gbps}
          - {a: core1:eth3, b: dist1:Ethernet1/2, bandwidth: 1Gbps}
          - {a: core1:eth4, b: dc1:ge-0/0/0, bandwidth: 1Gbps}
        """)
    site.write("site.yaml", """\
        site: secrets
        inventory: inventory.yaml
        topology: topology.yaml
        intents:
          - name: users
            vlan: {id: 10, subnet: 10.10.0.0/24, gateway: core1, access: [acc1:GigabitEthernet1/0/3, acc2:Ethernet10]}
          - name: video
            vlan: {id: 20, subnet: 10.20.0.0/24, gateway: core1, access: [dc1:ge-0/0/3]}
          - name: video-10-20
            qos_guarantee: {between: [{vlan: 10}, {vlan: 20}], rate: 100Mbps}
        """)
    for device, platform in (("acc1", "ios"), ("acc2", "eos"), ("dist1", "nxos"), ("dc1", "junos")):
        text = (CORPUS / FILES[platform]).read_text()
        site.write(f"running/{device}.cfg", text)
        recordings = tmp_path / f"rec-{device}"  # the device's NAPALM (mock) answers, secrets included
        recordings.mkdir()
        for number in (1, 2, 3):
            (recordings / f"get_config.{number}").write_text(json.dumps({"running": text}))
        (recordings / "load_merge_candidate.1").write_text("{}")
        (recordings / "load_replace_candidate.1").write_text("{}")
        (recordings / "compare_config.1").write_text(json.dumps({"diff": "\n".join(text.splitlines()[:12])}))
        (recordings / "discard_config.1").write_text("{}")
        (recordings / "commit_config.1").write_text(json.dumps({   # refused, quoting secrets as devices do
            "exception": "napalm.base.exceptions.MergeConfigException",
            "args": [f"% Invalid input near: {text.splitlines()[3]} / {ENV_PASSWORD} / {INVENTORY_PASSWORD}"]}))
    return site


def test_no_raw_secret_in_any_output_or_stored_file(tmp_path: Path) -> None:
    sited = site(tmp_path)
    env = {"SECRET_PW": ENV_PASSWORD, "INTENT_STATE_DIR": str(tmp_path / "state"), "INTENT_PLAN_KEY": ""}
    secrets = {INVENTORY_PASSWORD, BECOME_PASSWORD, ENV_PASSWORD}
    for name in FILES.values():
        secrets |= secrets_of((CORPUS / name).read_text())
    collected: list[str] = []

    def run(*args: str, code: int | None = None) -> None:
        result = run_intent(*args, env=env)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
        if code is not None:
            assert result.returncode == code, (args, result.stdout, result.stderr)
        collected.extend([result.stdout, result.stderr])

    running = str(tmp_path / "running")
    for fmt in ("text", "json", "markdown"):
        out = tmp_path / f"plan-{fmt}.json"
        run("plan", str(sited.site), "--running", running, "--format", fmt, "--out", str(out),
            "--allow-plaintext-secrets", code=0)
        collected.append(out.read_text())
    assert "<masked>" in collected[0]  # the diffs show the running lines around the change, masked
    run("validate", str(sited.site), code=1)  # refused: plaintext login and become passwords, not quoted
    assert "plaintext ansible_password refused" in collected[-1]
    assert "plaintext ansible_become_password refused, like ansible_password" in collected[-1]
    # the Linux device's saved state is the Linux corpus: not JSON, so an error path
    sited.write("running/core1.json", (CORPUS / "linux.conf").read_text())
    run("plan", str(sited.site), "--running", running, "--allow-plaintext-secrets", code=1)
    (tmp_path / "running" / "core1.json").unlink()
    # live: the Linux device's namespace does not exist (unreachable), then without it the commits fail
    run("apply", str(sited.site), "--yes", "--allow-plaintext-secrets", code=1)
    sited.write("inventory.yaml", (tmp_path / "inventory.yaml").read_text().replace(
        "core1: {platform: linux, netns: hostile-secrets-core1}",
        "core1: {platform: ios, password_env: SECRET_PW, napalm_optional_args: {path: rec-core1}}"))
    sited.write("topology.yaml", (tmp_path / "topology.yaml").read_text().replace("core1:eth", "core1:Ethernet"))
    (tmp_path / "rec-core1").mkdir()
    for number in (1, 2, 3):
        (tmp_path / "rec-core1" / f"get_config.{number}").write_text(json.dumps({"running": "hostname core1\n"}))
    for answer in ("load_merge_candidate.1", "load_replace_candidate.1", "discard_config.1", "commit_config.1"):
        (tmp_path / "rec-core1" / answer).write_text("{}")
    (tmp_path / "rec-core1" / "compare_config.1").write_text(json.dumps({"diff": "+vlan 10"}))
    run("apply", str(sited.site), "--yes", "--allow-plaintext-secrets", code=1)
    assert "Invalid input near" in "".join(collected[-2:])
    run("history", str(sited.site), "--allow-plaintext-secrets")
    records = [json.loads(line) for path in (tmp_path / "state").rglob("applies.jsonl")
               for line in path.read_text().splitlines()]
    snapshots = {ids["before"] for record in records for ids in (record.get("snapshots") or {}).values()
                 if "before" in ids}
    assert snapshots, records
    for snapshot in sorted(snapshots):
        run("show", snapshot, "--state-dir", str(tmp_path / "state"), code=0)
    assert any("hostname acc1" in text for text in collected[-2 * len(snapshots):])  # show printed the configs
    collected += [path.read_text() for path in (tmp_path / "state").rglob("applies.jsonl")]
    collected += [path.read_text() for path in (tmp_path / "state").rglob("*.json")]

    corpus = "\n".join(collected)
    leaked = sorted(secret for secret in secrets if secret in corpus)
    assert leaked == [], f"leaked: {leaked}"


@pytest.mark.parametrize("platform", sorted(FILES))
def test_the_trigger_shortcut_never_changes_what_is_masked(platform: str) -> None:
    """The masker skips text without any of its trigger words (engine.secrets.TRIGGERS): every line of
    the corpus, masked on its own, comes out exactly as from all the patterns without the shortcut."""
    from engine import secrets

    def every_pattern(text: str) -> str:
        for pattern in secrets._patterns():
            text = pattern.sub(secrets._masked, text)
        return text

    lines = (CORPUS / FILES[platform]).read_text().splitlines()
    assert sum(1 for line in lines if secrets_of(line)) >= 5
    for line in lines:
        assert mask(line) == every_pattern(line), line
        if secrets_of(line):
            assert any(word in line.lower() for word in secrets.TRIGGERS), line


def test_an_error_quoting_device_syntax_is_masked_in_every_format(site_dir: SiteDir) -> None:
    text = (site_dir.root / "site.yaml").read_text().replace("- name: users", "- name: 'users password 7 Err0rQuotedPw'")
    site_dir.write("site.yaml", text)
    (site_dir.root / "running").mkdir()
    for args in (["validate", str(site_dir.site)],
                 ["plan", str(site_dir.site), "--running", str(site_dir.root / "running"), "--format", "json"],
                 ["plan", str(site_dir.site), "--running", str(site_dir.root / "running")]):
        result = run_intent(*args)
        assert result.returncode == 1 and "intent name 'users password 7 <masked>" in result.stdout + result.stderr
        assert "Err0rQuotedPw" not in result.stdout + result.stderr
