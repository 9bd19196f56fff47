"""Saved Linux running state of another shape than the driver writes: refused at the line of the JSON
text where the offending value is (engine.runningstate), before the diff reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cliconfig import ConfigLineError
from engine.runningstate import check_linux

R1 = (Path(__file__).parent / "golden" / "linux" / "brownfield" / "running" / "r1.json").read_text()


def refusal(document: dict) -> tuple[int, str, str]:
    text = json.dumps(document, indent=2) + "\n"
    with pytest.raises(ConfigLineError) as info:
        check_linux(text, document)
    return info.value.line, str(info.value), text.splitlines()[info.value.line - 1]


def test_the_drivers_own_documents_pass() -> None:
    check_linux(R1, json.loads(R1))


def test_a_missing_field_is_refused_at_its_objects_line() -> None:
    document = json.loads(R1)
    del document["classes"][1]["dev"]
    line, message, text = refusal(document)
    assert message == "Linux running state: classes[1]: 'dev' is a required property"
    assert text == "    {" and line > json.dumps(document, indent=2).splitlines().index('  "classes": [')


def test_a_value_of_another_type_is_refused_at_its_line() -> None:
    document = json.loads(R1)
    document["links"][3]["up"] = "yes"
    line, message, text = refusal(document)
    assert message == "Linux running state: links[3].up: 'yes' is not of type 'boolean'" and text == '      "up": "yes"'


def test_an_address_that_is_none_is_refused_at_its_line() -> None:
    line, message, text = refusal({"addresses": [{"dev": "eth1", "address": "10.1.2.3/24"},
                                                 {"dev": "eth1", "address": "10.1.300.3/24"}]})
    assert message == "Linux running state: addresses[1].address: '10.1.300.3/24' is not an IP address or network"
    assert text == '      "address": "10.1.300.3/24"'


def test_a_key_given_twice_is_located_where_json_reads_it() -> None:
    text = '{"links": [{"name": "eth0", "up": true}],\n "links": [\n  {"up": true}]}\n'
    with pytest.raises(ConfigLineError) as info:
        check_linux(text, json.loads(text))
    assert info.value.line == 3 and str(info.value) == "Linux running state: links[0]: 'name' is a required property"
