"""Masking of secrets in anything the engine shows: diffs, plans, logs, errors.

Patterns cover the common forms on IOS, EOS, NX-OS and Junos (enable/username secrets and
passwords, SNMP communities, TACACS+/RADIUS keys, pre-shared keys, Junos ``$9$`` strings) plus any
value from the inventory that the caller registers.
"""

from __future__ import annotations

import re

MASK = "<masked>"

_PATTERNS = [
    # enable secret 5 $1$..., enable password 7 0822...
    re.compile(r"(?P<keep>\benable (?:secret|password)(?: level \d+)?(?: \d{1,2})? )\S+"),
    # username admin privilege 15 secret 5 ..., username x password 0 y, EOS/NX-OS "secret sha512 ..."
    re.compile(r"(?P<keep>\busername \S+(?: privilege \d+)?(?: role \S+)? (?:secret|password)(?: (?:\d{1,2}|sha512|md5|nopassword))? )\S+"),
    re.compile(r"(?P<keep>\bsnmp-server community )\S+"),
    re.compile(r"(?P<keep>\bauth (?:md5|sha\S*) )\S+"),  # snmp-server user ... auth sha SECRET
    re.compile(r"(?P<keep>\bpriv (?:des\S*|3des|aes(?: \d+)?) )\S+"),
    re.compile(r"(?P<keep>\b(?:tacacs-server|radius-server)(?: host \S+)?(?: \S+)*? key(?: \d{1,2})? )\S+"),
    re.compile(r"(?P<keep>^\s*key(?: \d{1,2})? )\S+", re.MULTILINE),  # "key 7 ..." under tacacs/radius server blocks
    re.compile(r"(?P<keep>\b(?:pre-shared-key|crypto isakmp key)(?: \d{1,2})?(?: (?:ascii-text|hexadecimal|local|remote|address))? )\S+"),
    re.compile(r"(?P<keep>\b(?:authentication-key|md5 \d+ key|message-digest-key \d+ md5(?: \d)?|ip ospf authentication-key(?: \d)?) )\S+"),
    re.compile(r"(?P<keep>\b(?:secret|encrypted-password|authentication-key|pre-shared-key ascii-text) )\"?\$9\$[^\s\"]+\"?"),
    re.compile(r"(?P<keep>\b(?:encrypted-password|community) )\"?[^\s\"]+\"?(?=\s|$)"),
]


class SecretMasker:
    """Masks known secret syntax plus every literal registered with ``add``."""

    def __init__(self) -> None:
        self._literals: set[str] = set()

    def add(self, value: str | None) -> None:
        if value and len(value) >= 4:
            self._literals.add(value)

    def __call__(self, text: str) -> str:
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group("keep") + MASK, text)
        for literal in sorted(self._literals, key=len, reverse=True):
            text = text.replace(literal, MASK)
        return text


def mask(text: str) -> str:
    """Mask secret syntax in ``text`` (no registered literals)."""
    return SecretMasker()(text)
