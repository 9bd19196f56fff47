"""The Python API, ``import intent_engine``: the issue's sentence through deploy, plans as the CONTRACT JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import intent_engine
from tests.conftest import ROOT, SiteDir, run_intent

CAMPUS = ROOT / "examples" / "campus"
ISSUE_SENTENCE = "Garantir QoS vidéo entre VLAN 10 et 20 avec bande passante minimale 100Mbps"


def test_the_issue_sentence_deploys_dry_run_on_the_campus_and_leaves_the_site_file_alone() -> None:
    site_file = CAMPUS / "site.yaml"
    before = site_file.read_bytes()
    listing = sorted(p.name for p in CAMPUS.iterdir())
    plan = intent_engine.deploy(ISSUE_SENTENCE, str(site_file), running=str(CAMPUS / "running"), dry_run=True)
    assert site_file.read_bytes() == before
    assert sorted(p.name for p in CAMPUS.iterdir()) == listing  # the staged copy is gone too
    assert plan.intent == {"name": "video-10-20-2",  # the campus already has a video-10-20
                           "qos_guarantee": {"between": [{"vlan": 10}, {"vlan": 20}], "rate": "100Mbps"}}
    assert plan.run is None
    document = plan.to_dict()
    carrying = [r for r in document["reservations"] if "video-10-20-2" in r["intents"]]
    # VLAN 10 (acc1, sw1) <-> VLAN 20 (acc2, sw2) through core1 and dist1: ten egress interfaces, both ways
    assert {(r["device"], r["interface"]) for r in carrying} == {
        ("acc1", "eth0"), ("acc2", "eth0"), ("core1", "eth1"), ("core1", "eth2"), ("core1", "eth3"),
        ("dist1", "Ethernet1/1"), ("dist1", "Ethernet1/2"), ("dist1", "Ethernet1/3"),
        ("sw1", "GigabitEthernet1/0/1"), ("sw2", "Ethernet1")}
    acc1 = next(r for r in carrying if r["device"] == "acc1")
    assert acc1["reserved_bps"] == 100_000_000 + 100_000_000 + 20_000_000  # video-10-20, the new one, voice
    assert acc1["intents"] == ["video-10-20", "voice-to-servers", "video-10-20-2"]
    assert any("video-10-20-2" in (d["diff"]) for d in document["devices"].values())


def test_plan_to_dict_is_the_json_of_intent_plan() -> None:
    plan = intent_engine.plan(str(CAMPUS / "site.yaml"), running=str(CAMPUS / "running"))
    cli = run_intent("plan", str(CAMPUS / "site.yaml"), "--running", str(CAMPUS / "running"), "--format", "json")
    assert cli.returncode == 0, cli.stderr
    assert plan.to_dict() == json.loads(cli.stdout)
    assert plan.to_json() == cli.stdout
    assert plan.changes is True and plan.reservations == plan.to_dict()["reservations"]


def test_load_and_plan_take_a_loaded_site() -> None:
    site = intent_engine.load(CAMPUS / "site.yaml")
    assert [intent.name for intent in site.intents][:2] == ["users", "video"]
    assert intent_engine.plan(site, running=CAMPUS / "running").to_dict()["site"] == "hq"


def test_parse_returns_the_intent_and_errors_are_the_engine_tree(site_dir: SiteDir) -> None:
    assert intent_engine.parse("cap vlan 30 at 20Mbps") == {"name": "cap-vlan30", "qos_limit": {"vlan": 30, "rate": "20Mbps"}}
    assert intent_engine.parse("limiter le VLAN 20 à 5 Mbps", site=site_dir.site)["name"] == "cap-vlan20"
    with pytest.raises(intent_engine.SentenceError) as caught:
        intent_engine.parse("guarantee 100Mbps between vlan 10 and 20 over ftp")
    assert isinstance(caught.value, intent_engine.ValidationError) and isinstance(caught.value, intent_engine.IntentError)
    assert caught.value.word == "ftp"
    with pytest.raises(intent_engine.ValidationError, match="VLAN 30 is not defined"):
        intent_engine.parse("cap vlan 30 at 20Mbps", site=site_dir.site)
    with pytest.raises(intent_engine.IntentError, match="no such directory"):
        intent_engine.plan(site_dir.site, running=site_dir.root / "nowhere")


def test_deploy_refused_by_admission_raises_and_writes_nothing(tmp_path: Path) -> None:
    copy = tmp_path / "campus"
    shutil.copytree(CAMPUS, copy)
    site_file = copy / "site.yaml"
    site_file.write_text(site_file.read_text().replace("../../inventories", str(ROOT / "inventories")))
    before = site_file.read_bytes()
    with pytest.raises(intent_engine.AdmissionError, match="acc1"):
        intent_engine.deploy("guarantee 800Mbps for bulk between vlan 10 and 20", site_file, running=copy / "running")
    assert site_file.read_bytes() == before
