"""`intent parse` and `intent add` end to end (subprocess), and appending to a site file byte for byte."""

from __future__ import annotations

import json

import pytest
import yaml

from engine.errors import IntentError
from engine.siteedit import append_intent
from tests.conftest import SiteDir, run_intent

# A site file as people keep them: comments everywhere, blank lines, flow and block styles, a key after intents.
COMMENTED = """\
# Headquarters: owned by netops. Do not reformat this file.
site: lab
inventory: inventory.yaml   # the Ansible inventory
topology: topology.yaml

intents:
  # --- VLANs ---
  - name: users        # staff desks
    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: core1, access: [acc1:eth3]}

  - name: video
    vlan:
      id: 20
      subnet: 10.20.0.0/24   # cameras and screens
      gateway: core1
      access: [acc2:eth3]
  # --- QoS ---
  - name: video-10-20
    qos_guarantee:
      between: [{vlan: 10}, {vlan: 20}]
      rate: 100Mbps    # the headline
  # new intents go above this line (intent add appends after the last one)

defaults: {reservable: 90%}
"""
LAST_ITEM_LINE = "      rate: 100Mbps    # the headline\n"


@pytest.fixture
def commented(site_dir: SiteDir) -> SiteDir:
    site_dir.write("site.yaml", COMMENTED)
    return site_dir


def test_add_keeps_every_byte_before_the_insertion_point(commented: SiteDir) -> None:
    original = commented.site.read_bytes()
    result = run_intent("add", str(commented.site), "cap the guest vlan 10 at 20 Mbps")
    assert result.returncode == 0, result.stderr
    after = commented.site.read_bytes()
    insertion = original.index(LAST_ITEM_LINE.encode()) + len(LAST_ITEM_LINE)
    assert after[:insertion] == original[:insertion]
    added = b"  - name: cap-guest-vlan10\n    qos_limit:\n      vlan: 10\n      rate: 20Mbps\n"
    assert after[insertion:] == added + original[insertion:]  # and every byte after it, too
    assert "Adding to" in result.stdout and "VLAN 10 capped at 20Mbps each way" in result.stdout
    assert "core1 (linux)" in result.stdout
    validated = run_intent("validate", str(commented.site))
    assert validated.returncode == 0, validated.stderr


def test_add_a_guarantee_shows_its_reservations_and_names_it_uniquely(commented: SiteDir) -> None:
    result = run_intent("add", str(commented.site), "garantir 50 Mb/s pour la vidéo entre VLAN 10 et 20")
    assert result.returncode == 0, result.stderr
    assert "name: video-10-20-2" in result.stdout  # video-10-20 is taken
    assert "Reservations it makes" in result.stdout
    assert "core1   eth1       1Gbps     900Mbps     150Mbps" in result.stdout
    site = yaml.safe_load(commented.site.read_text())
    assert site["intents"][-1] == {"name": "video-10-20-2", "qos_guarantee": {
        "between": [{"vlan": 10}, {"vlan": 20}], "rate": "50Mbps"}}
    assert site["defaults"] == {"reservable": "90%"}


def test_add_dry_run_writes_nothing(commented: SiteDir) -> None:
    original = commented.site.read_bytes()
    result = run_intent("add", str(commented.site), "limit vlan 20 to 5 Mbps", "--dry-run", "--name", "cap-cams")
    assert result.returncode == 0, result.stderr
    assert "Would add" in result.stdout and "name: cap-cams" in result.stdout and "not changed" in result.stdout
    assert commented.site.read_bytes() == original


@pytest.mark.parametrize(("sentence", "message"), [
    ("guarantee 900Mbps for bulk between vlan 10 and 20", "over by 100Mbps"),  # admission: 100 + 900 > 90% of 1Gbps
    ("guarantee 10Mbps between vlan 10 and 30", "VLAN 30 is not defined by any vlan intent in this site (in the intent being added)"),
    ("create vlan 30 named guest subnet 10.30.0.0/24 gateway core9", "gateway 'core9' is not in the inventory"),
    ("guarantee 10Mbps quickly between vlan 10 and 20", "'quickly': not understood here"),
])
def test_add_refuses_what_the_site_refuses_and_writes_nothing(commented: SiteDir, sentence: str, message: str) -> None:
    original = commented.site.read_bytes()
    result = run_intent("add", str(commented.site), sentence)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert ".proposed" not in result.stderr  # errors name the site file, never the staged copy
    assert result.stderr.startswith("<sentence>:" if "not understood" in message else f"{commented.site}:")
    assert commented.site.read_bytes() == original
    assert not [p.name for p in commented.root.iterdir() if p.name.startswith(".site.yaml")]  # no staging file left


def test_add_refuses_a_name_already_taken(commented: SiteDir) -> None:
    result = run_intent("add", str(commented.site), "limit vlan 20 to 5 Mbps", "--name", "video")
    assert result.returncode == 1 and "already has an intent named 'video'" in result.stderr


def test_add_against_saved_running_state(commented: SiteDir) -> None:
    (commented.root / "running").mkdir()
    result = run_intent("add", str(commented.site), "limit vlan 20 to 5 Mbps", "--dry-run", "--running",
                        str(commented.root / "running"))
    assert result.returncode == 0, result.stderr
    assert f"against {commented.root / 'running'}" in result.stdout
    assert "3 of 3 devices to change" in result.stdout  # nothing saved: every device is planned fresh


def test_parse_prints_the_intent_as_in_a_site_file() -> None:
    result = run_intent("parse", "réserver 20 Mb/s pour la voix entre le VLAN 10 et le VLAN 40 en priorité stricte, dscp ef")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("name: voix-10-40\nqos_guarantee:\n  between: [{vlan: 10}, {vlan: 40}]\n  rate: 20Mbps\n"
                             "  priority: true\n  match: {dscp: ef}\n")
    as_json = run_intent("parse", "limit vlan 30 to 20 Mbps", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == {"name": "cap-vlan30", "qos_limit": {"vlan": 30, "rate": "20Mbps"}}


def test_parse_refuses_quoting_the_word() -> None:
    result = run_intent("parse", "guarantee 100Mbps between vlan 10 and 20 over ftp")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("<sentence>:1:47: 'ftp': not understood here; expected ")
    assert "Traceback" not in result.stderr


def test_parse_with_a_site_checks_references_and_names(site_dir: SiteDir) -> None:
    ok = run_intent("parse", "guarantee 10Mbps for video between vlan 10 and 20", "--site", str(site_dir.site))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("name: video-10-20-2\n")
    bad = run_intent("parse", "create vlan 30 named guest subnet 10.30.0.0/24 gateway core1 access port acc9:eth1",
                     "--site", str(site_dir.site))
    assert bad.returncode == 1
    assert "device 'acc9' is not in the inventory (in the intent being added)" in bad.stderr
    assert site_dir.site.read_text() == (site_dir.root / "site.yaml").read_text()


def _appended(original: str, intent: dict[str, object]) -> tuple[str, str]:
    insertion = append_intent(original, intent)
    assert insertion.text[:insertion.offset] == original[:insertion.offset]
    assert insertion.text[insertion.offset + len(insertion.item):] == original[insertion.offset:]
    return insertion.text, insertion.item


LIMIT = {"name": "cap-vlan10", "qos_limit": {"vlan": 10, "rate": "20Mbps"}}


def test_append_follows_the_file_indentation() -> None:
    original = "site: x\nintents:\n    -   name: users\n        vlan:\n            id: 10\n"
    text, item = _appended(original, LIMIT)
    assert item == "    -   name: cap-vlan10\n        qos_limit:\n            vlan: 10\n            rate: 20Mbps\n"
    assert yaml.safe_load(text)["intents"][1] == LIMIT


def test_append_keeps_crlf_and_a_missing_final_newline() -> None:
    original = "site: x\r\nintents:\r\n  - name: users\r\n    vlan: {id: 10}"
    text, item = _appended(original, LIMIT)
    assert item.startswith("\r\n  - name: cap-vlan10\r\n") and "\n" not in item.replace("\r\n", "")
    assert yaml.safe_load(text)["intents"][1] == LIMIT


def test_append_to_an_empty_or_missing_intents_list() -> None:
    text, _ = _appended("site: x\nintents:\n# none yet\n", LIMIT)
    assert yaml.safe_load(text)["intents"] == [LIMIT]
    text, _ = _appended("site: x\n", LIMIT)
    assert yaml.safe_load(text)["intents"] == [LIMIT]


def test_append_refuses_a_flow_list() -> None:
    with pytest.raises(IntentError, match="not a block list"):
        append_intent("site: x\nintents: [{name: a, vlan: {id: 1}}]\n", LIMIT)


def test_a_site_with_plaintext_secrets_needs_the_flag_as_everywhere(site_dir: SiteDir) -> None:
    inventory = (site_dir.root / "inventory.yaml").read_text().replace("password_env: LAB_PASSWORD", "password: hunter22")
    site_dir.write("inventory.yaml", inventory)
    refused = run_intent("add", str(site_dir.site), "limit vlan 20 to 5 Mbps", "--dry-run")
    assert refused.returncode == 1 and "plaintext password" in refused.stderr and "--allow-plaintext-secrets" in refused.stderr
    allowed = run_intent("add", str(site_dir.site), "limit vlan 20 to 5 Mbps", "--dry-run", "--allow-plaintext-secrets")
    assert allowed.returncode == 0, allowed.stderr
    parsed = run_intent("parse", "limit vlan 20 to 5 Mbps", "--site", str(site_dir.site), "--allow-plaintext-secrets")
    assert parsed.returncode == 0 and "hunter22" not in parsed.stdout + parsed.stderr


def test_add_the_later_kinds(commented: SiteDir) -> None:
    original = commented.site.read_bytes()
    insertion = original.index(LAST_ITEM_LINE.encode()) + len(LAST_ITEM_LINE)
    refused = run_intent("add", str(commented.site), "isolate vlan 20 from vlan 10 except tcp port 443")
    assert refused.returncode == 1  # the whole site is checked: the guarantee between 10 and 20 contradicts it
    assert "which isolate 'isolate-20-10' forbids" in refused.stderr and commented.site.read_bytes() == original
    shared = run_intent("add", str(commented.site), "partager la bande passante restante entre le VLAN 10 et le VLAN 20 à 2:1")
    assert shared.returncode == 0, shared.stderr
    added = b"  - name: share-10-20\n    qos_share:\n      weights: [{vlan: 10, weight: 2}, {vlan: 20, weight: 1}]\n"
    assert commented.site.read_bytes() == original[:insertion] + added + original[insertion:]
    without_guarantee = COMMENTED.replace(COMMENTED[COMMENTED.index("  - name: video-10-20"):COMMENTED.index("  # new")], "")
    commented.write("site.yaml", without_guarantee)
    isolated = run_intent("add", str(commented.site), "isolate vlan 20 from vlan 10 except tcp port 443")
    assert isolated.returncode == 0, isolated.stderr
    last = "      access: [acc2:eth3]\n"  # the last item is now the video VLAN
    item = ("  - name: isolate-20-10\n    isolate:\n      between: [{vlan: 20}, {vlan: 10}]\n"
            "      allow: [{protocol: tcp, ports: 443}]\n")
    assert commented.site.read_text() == without_guarantee.replace(last, last + item)
    assert run_intent("validate", str(commented.site)).returncode == 0
