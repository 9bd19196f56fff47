"""Write the responses NAPALM's mock driver replays in tests/drivers/test_napalm.py.

Run by hand when the scenario changes; the files are reviewed like code. They are modeled on
what each platform returns (running config from get_config, the device's diff from
compare_config) for the golden brownfield router r1 of that platform: they were not captured
from real devices, which this project cannot reach.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from drivers.cli import change  # noqa: E402
from engine.compiler import compile_site  # noqa: E402
from engine.loader import load_site  # noqa: E402


def write(directory: Path, name: str, payload: object) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps(payload, indent=1) + "\n")


def main() -> None:
    for platform in ("ios", "eos", "junos", "nxos"):
        case = ROOT / "tests" / "golden" / platform / "brownfield"
        config = compile_site(load_site(case / "site.yaml")).configs["r1"]
        running = (case / "running" / "r1.cfg").read_text()
        planned = change(config, running)
        device_diff = "\n".join(line for line in planned.diff("r1").splitlines()[2:] if line[:1] in "+-")
        base = HERE / platform / "recorded"
        shutil.rmtree(base, ignore_errors=True)
        apply = base / "apply"
        write(apply, "get_config.1", {"running": running, "candidate": "", "startup": running})
        write(apply, "load_merge_candidate.1", {})
        write(apply, "compare_config.1", {"diff": device_diff})
        write(apply, "commit_config.1", {})
        write(apply, "get_config.2", {"running": planned.merged, "candidate": "", "startup": planned.merged})
        write(apply, "confirm_commit.1", {})
        write(apply, "discard_config.1", {})
        fails = base / "commit-fails"
        write(fails, "get_config.1", {"running": running, "candidate": "", "startup": running})
        write(fails, "load_merge_candidate.1", {})
        write(fails, "compare_config.1", {"diff": device_diff})
        write(fails, "commit_config.1", {"exception": "napalm.base.exceptions.MergeConfigException",
                                         "args": ["Configuration failed on line 12: % Invalid input detected at '^' "
                                                  "marker (username netops secret S3cr3tPassw0rd)"]})
        write(fails, "discard_config.1", {})
        restore = base / "rollback"
        write(restore, "load_replace_candidate.1", {})
        write(restore, "commit_config.1", {})
        write(restore, "get_config.1", {"running": running, "candidate": "", "startup": running})
        noop = base / "noop"  # the device already as intended
        write(noop, "get_config.1", {"running": planned.merged, "candidate": "", "startup": planned.merged})
        print(f"{platform}: {len(planned.commands)} commands, diff of {len(device_diff.splitlines())} lines")


if __name__ == "__main__":
    main()
