"""The renderer's fast paths give exactly what the plain per-device path gives.

``renderer`` checks the tokens of every device at once (``_values_of``: each platform's strings read
class by class, in C) before rendering them; ``render`` checks and renders one device. Here both are
run over the golden sites and a generated fabric and must give the same configurations, the token
check's strings must be every string the full walk (``_strings``, the one refusals are worded from)
finds, and a refusal must be the one the per-device loop gives.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from engine import render
from engine.build import Build
from engine.compiler import build_site
from engine.device import DeviceModel, EgressPolicy, Match, NextHop, Port, PortMode, QosClass, Route, Vlan
from engine.errors import RenderError
from engine.loader import load_site
from tests.bench import fabric

GOLDEN = Path(__file__).parent / "golden"


def _models(tmp_path: Path) -> list[dict[str, DeviceModel]]:
    sites = sorted(GOLDEN.glob("*/*/site.yaml")) + [fabric.generate(tmp_path / "f", 30, guarantees=6)]
    built: list[Build] = [build_site(load_site(site_file)) for site_file in sites]
    return [build.finish() for build in built]


def _pairs(model: object) -> set[tuple[str, str]]:
    return {(role, value) for _, role, value in render._strings(model, "")}


def test_the_renderer_gives_what_render_gives_device_by_device(tmp_path: Path) -> None:
    sites = _models(tmp_path)
    assert {model.platform for models in sites for model in models.values()} == {"linux", "ios", "eos", "nxos", "junos"}
    for models in sites:
        render_one = render.renderer(models.values())
        assert render_one is render._render_checked
        together = {name: render_one(model) for name, model in models.items()}
        alone = {name: render.render(model) for name, model in models.items()}
        assert list(together) == list(alone)
        for name, config in together.items():
            assert config == alone[name]
            assert config.objects == alone[name].objects
        by_platform: dict[str, list[DeviceModel]] = {}
        for model in models.values():
            by_platform.setdefault(model.platform, []).append(model)
        for group in by_platform.values():
            seen = {(role, value) for role, values in render._values_of(group).items() for value in values}
            assert seen == set().union(*map(_pairs, group))


class Odd(str):
    """A string subclass (like PortMode): still a string, checked as one."""


@dataclasses.dataclass(frozen=True)
class Wider(Port):
    """A subclass of a model class, with one more string field."""

    extra: str = "x y"


def _odd_models() -> list[Any]:
    """Models holding values their fields' annotations do not describe, each of which the passes by class
    must notice (falling back to the full walk) rather than skip or mangle."""
    base = DeviceModel("sw1", "ios", "lab", vlans=(Vlan(10, "users", "10.10.0.0/24", "users"),),
                       ports=(Port("Gi1", PortMode.ACCESS, (10,)),))
    hop = NextHop("10.0.0.1", "Gi2")
    policy = EgressPolicy("Gi2", 10**9, (QosClass("v", "INTENT-v", 256, 1, 2, False, "fq_codel",
                                                  (Match("10.1.0.0/24", "10.2.0.0/24"),)),), 1, "INTENT-OUT-Gi2")
    return [
        base,
        dataclasses.replace(base, name=7),  # an int where a string is declared: not a string, not walked
        dataclasses.replace(base, site=["lab", "a\nb"]),  # a list (unhashable) where a string is declared
        dataclasses.replace(base, site=("lab", "a b")),  # a tuple (hashable) where a string is declared
        dataclasses.replace(base, site=hop),  # a dataclass where a string is declared
        dataclasses.replace(base, site=Odd("lab\n")),
        dataclasses.replace(base, intents="ab\ncd"),  # a string where a tuple of strings is declared
        dataclasses.replace(base, intents=("a", ("b", "c d"))),  # a tuple inside it
        dataclasses.replace(base, intents=["a", "b c"]),  # a list: walked as a tuple is
        dataclasses.replace(base, intents=("a", None, 3)),
        dataclasses.replace(base, vlans="users\n!"),  # a string where a tuple of dataclasses is declared
        dataclasses.replace(base, vlans=(Vlan(10, "users", "10.10.0.0/24", "users"), "x y")),
        dataclasses.replace(base, vlans=[Vlan(10, "u v", "10.10.0.0/24", "users")]),
        dataclasses.replace(base, vlans=(None,)),
        dataclasses.replace(base, ports=(Port("Gi1", PortMode.ACCESS), Wider("Gi2", PortMode.TRUNK))),
        dataclasses.replace(base, ports=(Port("Gi1", PortMode.ACCESS, address=("10.0.0.1", "x\ny")),)),
        dataclasses.replace(base, routes=(Route("10.2.0.0/24", (hop, NextHop("10.0.0.2", ["Gi3", "a b"])), "r"),)),
        dataclasses.replace(base, routes=(Route("10.2.0.0/24", hop, "r"),)),  # a dataclass where a tuple is declared
        dataclasses.replace(base, egress=(policy, dataclasses.replace(policy, classes=(policy.classes[0], policy)))),
        dataclasses.replace(base, egress=(dataclasses.replace(policy, shares={"a": "b c"}),)),  # a dict: not walked
        "a string root", 5, None, (base, "x y"),
    ]


@pytest.mark.parametrize("model", _odd_models(), ids=lambda model: repr(model)[:60])
def test_the_passes_by_class_see_every_string_of_odd_models(model: Any) -> None:
    assert {(role, value) for role, values in render._values(model).items() for value in values} == _pairs(model)
    together = {(role, value) for role, values in render._values_of([model, _odd_models()[0]]).items()
                for value in values}
    assert together == _pairs(model) | _pairs(_odd_models()[0])


@pytest.mark.parametrize("platform", ["ios", "eos", "nxos", "junos", "linux"])
def test_the_renderer_refuses_what_render_refuses_with_the_first_device_s_problem(platform: str) -> None:
    good = DeviceModel("sw1", platform, "lab", vlans=(Vlan(10, "users", "10.10.0.0/24", "users"),))
    bad = DeviceModel("sw3", platform, "lab", vlans=(Vlan(10, "users\n!", "10.10.0.0/24", "users"),))
    worse = DeviceModel("sw4", platform, "lab", ports=(Port("eth1 x", PortMode.ACCESS, (10,)),))
    with pytest.raises(RenderError) as alone:
        render.render(bad)
    models = [good, dataclasses.replace(good, name="sw2"), bad, worse]
    assert render.renderer(models) is render.render  # each device checked as it comes
    with pytest.raises(RenderError) as together:
        compile_models({model.name: model for model in models})
    assert str(together.value) == str(alone.value)
    assert "sw3" in str(together.value) and "refusing to render it" in str(together.value)
    assert render.renderer([good]) is render._render_checked
    assert render._render_checked(good) == render.render(good)


def compile_models(models: dict[str, DeviceModel]) -> dict[str, Any]:
    """The compiler's render loop (engine/compiler.py) over ``models``."""
    from engine import parallel

    render_one = render.renderer(models.values())
    return dict(zip(models, parallel.ordered_map(render_one, list(models.values())), strict=True))
