"""``intent_engine.deploy`` without dry_run, on the Linux lab: the sentence is written, planned live and applied.

Needs root (network namespaces); run under the shared lock: flock /tmp/netns.lock.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

import intent_engine
from tests.conftest import lab_site
from tests.labs import running_lab

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root: creates network namespaces"),
              pytest.mark.measures]  # verify sends real traffic

SITE = "# the lab: two VLANs, no QoS yet (a comment deploy keeps)\n" + lab_site(None)


def test_deploy_writes_plans_and_applies_and_a_stale_plan_is_refused(tmp_path: Path) -> None:
    with running_lab(tmp_path, SITE, apply=True) as lab:
        connection = intent_engine.Connection(state_dir=str(lab.root / "state"))
        # a plan made against saved state that is not the devices' own is refused, nothing applied
        (lab.root / "empty").mkdir()
        offline = intent_engine.plan(lab.site, running=lab.root / "empty")
        with pytest.raises(intent_engine.IntentError, match="the plan is stale"):
            intent_engine.apply(offline, connection=connection)
        assert "1:" not in lab.sh("core1", "tc", "class", "show", "dev", "eth2")

        plan = intent_engine.deploy("garantir 30 Mb/s pour la vidéo entre VLAN 10 et 20 avec une file pfifo",
                                    lab.site, connection=connection)
        assert plan.intent == {"name": "video-10-20", "qos_guarantee": {
            "between": [{"vlan": 10}, {"vlan": 20}], "rate": "30Mbps", "queue": "pfifo"}}
        assert plan.run is not None and not plan.run.failed
        assert sorted(name for name, result in plan.run.results.items() if result.changed) == ["acc1", "acc2", "core1"]
        assert yaml.safe_load(lab.site.read_text())["intents"][-1] == plan.intent
        assert lab.site.read_text().startswith(SITE)
        classes = lab.sh("core1", "tc", "class", "show", "dev", "eth2")
        assert "rate 30Mbit" in classes  # the guarantee is on the kernel, towards VLAN 20
        again = intent_engine.plan(lab.site, connection=connection)
        assert again.changes is False

        # apply(site): planned live and applied in one call
        lab.site.write_text(lab.site.read_text().replace("rate: 30Mbps", "rate: 20Mbps"))
        run = intent_engine.apply(lab.site, connection=connection)
        assert not run.failed and run.results["core1"].changed
        assert "rate 20Mbit" in lab.sh("core1", "tc", "class", "show", "dev", "eth2")

        # verify: measured with real traffic, the report of `intent verify --format json`
        report = intent_engine.verify(lab.site, seconds=2, connection=connection)
        assert report.ok, report.as_dict()
        assert [(r.name, r.kind, r.ok) for r in report.intents] == [
            ("users", "vlan", True), ("video", "vlan", True), ("video-10-20", "qos_guarantee", True)]
        guarantee = report.intents[-1]
        assert guarantee.expected_bps == 20_000_000 and guarantee.measured_bps is not None
        assert report.as_dict()["drift"] == {}
        lab.sh("core1", "tc", "qdisc", "del", "dev", "eth2", "root")  # take the guarantee away by hand
        drifted = intent_engine.verify(lab.site, seconds=2, connection=connection)
        assert not drifted.ok and "core1" in drifted.drift
