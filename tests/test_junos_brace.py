"""Junos running configs in brace form are read as the set lines `display set` would print."""

from __future__ import annotations

import pytest

from engine import cliconfig, junos
from engine.render import platform_spec

JUNOS = platform_spec("junos").syntax
assert JUNOS is not None

BRACE = """\
## Last commit: 2026-11-17 10:02:11 UTC by netops
version 21.4R3.15;
system {
    host-name ex1;
    login {
        user netops {
            uid 2001;
            class super-user;
            authentication {
                encrypted-password "$6$Qx$abc"; ## SECRET-DATA
            }
        }
    }
}
interfaces {
    /* uplink to the core */
    ge-0/0/0 {
        description "to core1 ge-0/0/1";
        unit 0 {
            family ethernet-switching {
                interface-mode trunk;
                vlan {
                    members [ users mgmt ];
                }
            }
        }
    }
    inactive: ge-0/0/5 {
        disable;
    }
    ge-0/0/6 {
        unit 0 {
            family ethernet-switching;
        }
    }
}
"""

SET = """\
set version 21.4R3.15
set system host-name ex1
set system login user netops uid 2001
set system login user netops class super-user
set system login user netops authentication encrypted-password "$6$Qx$abc"
set interfaces ge-0/0/0 description "to core1 ge-0/0/1"
set interfaces ge-0/0/0 unit 0 family ethernet-switching interface-mode trunk
set interfaces ge-0/0/0 unit 0 family ethernet-switching vlan members users
set interfaces ge-0/0/0 unit 0 family ethernet-switching vlan members mgmt
set interfaces ge-0/0/5 disable
deactivate interfaces ge-0/0/5
set interfaces ge-0/0/6 unit 0 family ethernet-switching
"""


def test_brace_form_becomes_display_set() -> None:
    assert junos.is_brace_form(BRACE) and not junos.is_brace_form(SET)
    assert junos.to_set(BRACE) == SET


def test_the_engine_reads_both_forms_alike() -> None:
    def lines(text: str) -> list[list[str]]:
        return [n.lines(0, "set", trivia=False) for n in cliconfig.parse(text, JUNOS) if n.text]

    assert lines(BRACE) == lines(SET)
    assert any("vlan members mgmt" in line for group in lines(BRACE) for line in group)


@pytest.mark.parametrize(("text", "message"), [
    ("interfaces {\n    ge-0/0/1 {\n        disable;\n", "a '}' is missing"),
    ("interfaces {\n    ge-0/0/1 {\n        description x\n    }\n}\n", "has no ';'"),
    ("interfaces {\n    }\n}\n", "closes nothing"),
])
def test_a_broken_brace_config_is_an_error_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        junos.to_set(text)


def test_a_config_in_neither_form_is_never_silently_ignored() -> None:
    with pytest.raises(ValueError, match="line 2: 'hostname ex1' is neither a set line nor a comment"):
        cliconfig.parse("set system host-name ex1\nhostname ex1\n", JUNOS)
