"""A three-device Linux lab in network namespaces (core1 routes; acc1 and acc2 are access switches),
with unique namespace names per test, built and always removed again."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import SiteDir, lab_inventory, lab_topology, run_intent


class Lab(SiteDir):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.prefix = f"t{uuid.uuid4().hex[:6]}"

    def ns(self, device: str) -> str:
        return f"{self.prefix}-{device}"

    def intent(self, *args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
        result = run_intent(*args, str(self.site), env={"INTENT_STATE_DIR": str(self.root / "state")})
        if check is not None:
            assert result.returncode == check, result.stdout + result.stderr
        return result

    def sh(self, device_or_ns: str, *command: str) -> str:
        ns = device_or_ns if device_or_ns.startswith("h-") else self.ns(device_or_ns)
        return subprocess.run(["ip", "netns", "exec", ns, *command], capture_output=True, text=True, check=True).stdout

    def dump(self, device: str) -> str:
        from drivers.linux import LinuxDriver
        from engine.loader import load_site
        from engine.state import StateDir

        site = load_site(self.site)
        state = StateDir.for_site(site, self.root / "state")
        with LinuxDriver(site.devices[device], state.device_dir(device)) as driver:
            return driver.get_running()


@contextlib.contextmanager
def running_lab(tmp_path: Path, site: str, apply: bool = False) -> Iterator[Lab]:
    """``intent lab up`` for ``site`` on the three-device topology (100 Mbps uplinks); down afterwards."""
    lab = Lab(tmp_path)
    lab.write("inventory.yaml", lab_inventory(lab.prefix))
    lab.write("topology.yaml", lab_topology("100Mbps", "100Mbps"))
    lab.write("site.yaml", site)
    try:
        lab.intent("lab", "up")
        if apply:
            lab.intent("apply", "--yes")
        yield lab
    finally:
        lab.write("site.yaml", site)  # a test may have changed it; down removes what this site's lab has
        lab.intent("lab", "down")
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert lab.prefix not in left, f"namespaces left behind: {left}"
