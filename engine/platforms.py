"""Which platforms there are, and what each says about itself: ``templates/<platform>/platform.yaml``.

A platform is a directory of ``templates/`` holding a ``platform.yaml``; the engine names none of
them. Adding one means adding that directory (README "Adding a platform" lists the fields). This
module only reads the files (a leaf: ``engine.identifiers``, ``engine.render`` and the loader use
it), so any module may ask it without an import cycle.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

import templates
from engine.errors import IntentError

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the same data, ten times faster (five files a run)

# The ``templates`` package's directory: what ``importlib.resources.files("templates")`` is for a package
# on disk (jinja2's FileSystemLoader reads the templates from it by path), without importing
# importlib.resources (its modules and the zipfile its readers import: 1.5 ms of every start-up).
TEMPLATES = Path(templates.__file__).parent


@cache
def known_platforms() -> tuple[str, ...]:
    """Every platform shipped, sorted: the directories of ``templates/`` that hold a platform.yaml."""
    return tuple(sorted(entry.name for entry in TEMPLATES.iterdir()
                        if entry.is_dir() and entry.joinpath("platform.yaml").is_file()))


@cache
def platform_data(platform: str) -> dict[str, Any]:
    """The parsed ``templates/<platform>/platform.yaml``; IntentError for a platform that has none."""
    if platform not in known_platforms():
        raise IntentError(f"no templates for platform {platform!r} (platforms: {', '.join(known_platforms())})")
    text = TEMPLATES.joinpath(platform, "platform.yaml").read_text(encoding="utf-8")
    raw = yaml.load(text, Loader=_LOADER) or {}  # noqa: S506 - a safe loader (libyaml's when there)
    if not isinstance(raw, dict):
        raise IntentError(f"templates/{platform}/platform.yaml is not a mapping")
    return raw


@cache
def network_os_aliases() -> dict[str, str]:
    """``ansible_network_os`` value (lowercase) -> platform: every platform's own name plus the
    ``network_os:`` names its platform.yaml lists (``cisco.ios.ios``). Two platforms claiming one
    name is an error in the shipped files, refused rather than resolved by order."""
    aliases: dict[str, str] = {}
    for platform in known_platforms():
        for name in (platform, *(platform_data(platform).get("network_os") or ())):
            key = str(name).lower()
            if aliases.get(key, platform) != platform:
                raise IntentError(f"ansible_network_os {key!r} is claimed by platforms {aliases[key]} and {platform}")
            aliases[key] = platform
    return aliases
