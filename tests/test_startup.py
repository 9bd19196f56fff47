"""What ``intent plan`` imports: only what it uses.

Start-up is a fixed cost of every run (a tenth of a second before a site is read), and an import
added at the top of a module the plan needs is paid by every plan whether it uses it or not. The
modules listed here were paid for once (importlib.metadata and importlib.resources, the lab's checks,
the traceback module) or belong to other commands (rich, the exporter, the graph, the transaction, vendor libraries):
a plan that imports one of them again fails here rather than silently slowing every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.bench import fabric
from tests.conftest import INTENT


def test_a_plan_imports_only_what_it_uses(tmp_path: Path) -> None:
    """``intent plan`` of a fabric whose devices all take the direct path, as the program runs it: the
    modules start-up used to pay for and the plan does not use stay out of the process (each import
    is listed by ``python -X importtime``)."""
    site = fabric.generate(tmp_path / "f", 30, guarantees=6)
    result = subprocess.run([sys.executable, "-X", "importtime", str(INTENT), "plan", str(site), "--running",
                             str(tmp_path), "--format", "json", "--out", str(tmp_path / "plan.json")],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "INTENT_WORKERS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:") and line.count("|") == 2}
    assert "engine.plan" in imported and "engine.compiler" in imported
    unused = {"importlib.metadata", "importlib.resources", "zipfile", "email.parser", "rich", "hier_config", "jsonschema", "networkx",
              "lark", "engine.transaction", "engine.exporter", "engine.graph", "engine.verify", "engine.words",
              "engine.console", "engine.checks", "traceback", "drivers", "napalm", "netmiko", "pyroute2", "paramiko"}
    assert sorted(unused & imported) == []
    assert not [name for name in imported if name.startswith(tuple(f"{top}." for top in unused))]

