"""Schemas shipped for editors stay in step with the code, and are valid draft 2020-12."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from engine.loader import editor_schema, schema
from tests.conftest import run_intent

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("which", ["site", "inventory", "topology"])
def test_example_schemas_are_current(which: str) -> None:
    result = run_intent("schema", which)
    assert result.returncode == 0
    shipped = (EXAMPLES / "schemas" / f"{which}.schema.json").read_text()
    assert shipped == result.stdout, f"run: intent schema {which} > examples/schemas/{which}.schema.json"
    jsonschema.Draft202012Validator.check_schema(json.loads(shipped))


def test_editors_are_offered_the_platforms_and_the_installed_drivers() -> None:
    document = json.loads(run_intent("schema", "inventory").stdout)
    properties = document["$defs"]["vars"]["properties"]
    assert properties["platform"]["examples"] == ["eos", "ios", "junos", "linux", "nxos"]
    assert properties["driver"]["examples"] == ["linux", "napalm", "netmiko"]
    assert "enum" not in properties["driver"]  # open: a plugin driver installed later is valid too


def test_editor_schema_accepts_the_example_and_rejects_a_bad_intent() -> None:
    validator = jsonschema.Draft202012Validator(editor_schema())
    site = yaml.safe_load((EXAMPLES / "campus" / "site.yaml").read_text())
    assert list(validator.iter_errors(site)) == []
    site["intents"].append({"name": "bad", "qos_limit": {"vlan": 30}})
    assert list(validator.iter_errors(site))
    topology = yaml.safe_load((EXAMPLES / "campus" / "topology.yaml").read_text())
    assert list(jsonschema.Draft202012Validator(schema("topology")).iter_errors(topology)) == []
