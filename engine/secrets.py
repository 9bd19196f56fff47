"""Masking of secrets in anything the engine shows or stores: diffs, plans, plan files, logs, errors.

The patterns cover the forms IOS, EOS, NX-OS, Junos and Linux print (README "Secrets" lists them):
enable/username/line/PPP/neighbor passwords and secrets in every encryption type (0/3/5/7/8/9,
sha512, scrypt, cleartext), ``enable algorithm-type ... secret``, HSRP/VRRP/GLBP/NHRP
``authentication``, ``key-string`` (key chains, HSRP/VRRP md5), OSPF ``authentication-key`` and
``message-digest-key``, NTP ``authentication-key N md5 ...`` (both orders, and Junos ``value``), SNMP
communities (also on ``snmp-server host``), SNMPv3 ``auth``/``priv`` keys (and Junos
``authentication-key``/``privacy-key``/``-password``), TACACS+/RADIUS keys, IKE pre-shared keys, WPA
PSKs (``wpa-psk``, ``set-key``, wpa_supplicant/hostapd ``psk=``), Junos ``$9$``, ``secret``,
``encrypted-password`` and ``simple-password``, WireGuard keys, keepalived ``auth_pass``, passwords in
URLs and JSON string fields named like secrets. Plus any value from the inventory or the
environment that the caller registers (``SecretMasker.add``). The masker errs on the side of masking:
a word after ``password`` is masked even where it is a keyword nobody listed.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable
from functools import cache

MASK = "<masked>"

# Patterns anchored at a line's start allow a unified diff's "+"/"-" before it: a diff is masked as a whole.
# A value: a double- or single-quoted string (Junos, JSON), or a run of non-blank characters that
# stops before a final ";" (Junos brace form) but never inside the value.
_VALUE = r"""(?:"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|\S+?(?=;?(?:\s|$)))"""
_ENC = r"(?: (?:\d{1,2}|sha512|sha256|scrypt|md5|cleartext|clear|encrypted|hidden))"


def _rule(keep: str, tail: str = "") -> tuple[str, re.RegexFlag]:
    return rf"(?P<keep>{keep})(?P<value>{_VALUE}){tail}", re.MULTILINE


# The patterns' sources and flags, compiled by ``_patterns`` when a text first holds a trigger word
_RULES = [
    # NTP first: "ntp authentication-key 1 md5 KEY 7", "... md5 7 KEY", Junos "... type md5 value KEY"
    _rule(r"\bauthentication-key \d+ (?:type \S+ value |(?i:md5|sha1|sha256|sha512|cmac-aes-128|hmac-sha\S*) (?:[07] )?)"),
    _rule(r"\bsecret \d+ (?:0|7|8a) "),  # EOS shared-secret profiles: "secret ID ENCRYPTION KEY lifetimes"
    # enable secret 5 ..., enable algorithm-type scrypt secret ..., enable password sha512 ...
    _rule(rf"\benable(?: algorithm-type \S+)? (?:secret|password)(?: level \d+)?{_ENC}? "),
    # username u privilege 15 [algorithm-type sha256] secret 9 ..., EOS "... role r secret sha512 ..."
    _rule(rf"\busername \S+ (?:\S+ )*?(?:secret|password){_ENC}? "),
    # every other "password"/"secret": line/vty, PPP CHAP/PAP, BGP/EIGRP neighbors, NX-OS "password 3",
    # IS-IS, "aaa root secret sha512", Junos "secret ..." and "authentication-password ..."
    _rule(rf"\b(?:password|secret){_ENC}? (?!(?:encryption|required|prompt|policy|hash|expiry|min-length|"
          r"strength-check|attempts|profile)\b)"),
    _rule(r"\bkey-string(?: \d{1,2})? "),  # key chains, HSRP/VRRP/GLBP md5
    # HSRP/VRRP/GLBP/NHRP text authentication (EOS "vrrp 1 peer authentication text ...", NX-OS blocks)
    _rule(r"(?:\b(?:standby|vrrp|glbp)(?: \d+)?(?: peer)?|^[+-]?\s*(?:peer )?|\bip nhrp|\bisis) authentication"
          r"(?: text| plain-text| cleartext)?(?: \d)? (?!(?:md5|ietf-md5|sha\S*|message-digest|null|key-chain|"
          r"key-string|mode|keychain|hmac-\S+|type|text)\b|\{)"),
    _rule(r"\bsnmp-server community "),
    # SNMPv1/v2c notification hosts: "snmp-server host 10.0.0.1 [informs|traps] [version 2c] COMMUNITY"
    _rule(r"\bsnmp-server host \S+(?: (?:informs|inform|traps|trap|vrf \S+|use-vrf \S+))*(?: version (?:1|2c))? "
          r"(?!(?:version|informs|inform|traps|trap|vrf|use-vrf|udp-port)\b)"),
    _rule(r"\bauth (?:md5|sha\S*) "),  # snmp-server user ... auth sha SECRET
    _rule(r"\bpriv(?: (?:des\S*|3des|aes\S*)(?: \d+)?)? (?!(?:read|write|notify|context|access|match|user)\b)"),
    _rule(r"\b(?:authentication|privacy)-(?:key|password)(?: \d{1,2})? (?!(?:\d+ )?(?i:md5|sha\S*|type|cmac\S*|hmac\S*)\b)"),  # OSPF, Junos SNMPv3/BGP/VRRP
    _rule(r"\b(?:message-digest-key \d+ md5|md5 \d+ key)(?: \d)? "),
    _rule(r"\b(?:tacacs-server|radius-server|server-private \S+|radius-server host \S+)(?: host \S+)?(?: \S+)*? key"
          r"(?: \d{1,2})? "),
    # "key 7 ..." under tacacs/radius server blocks (not "key chain NAME" nor a key chain's "key 1")
    _rule(r"^[+-]?[ \t]*(?:server-)?key(?: \d{1,2})? (?!(?:chain|config-key)\b|\d{1,3}$)"),
    _rule(r"\bpre-shared-key address \S+(?: \S+)? key(?: \d)? "),  # IOS keyrings
    _rule(r"\b(?:pre-shared-key|crypto isakmp key)(?: \d{1,2})?(?: (?:ascii-text|hexadecimal|local|remote))? (?!address\b)"),
    _rule(r"\b(?:wpa-psk|set-key) (?:ascii|hex)(?: \d)? "),  # IOS WLAN, IOS-XE WLC
    _rule(r"\b(?:simple-password|encrypted-password|plain-text-password-value|community|auth_pass) "),
    _rule(r"\bconfig-key password-encrypt "),
    # Linux: wpa_supplicant/hostapd, WireGuard, NetworkManager
    _rule(r"\b(?:psk|wpa_passphrase|wpa_psk|sae_password|private_key_passwd|PrivateKey|PresharedKey)\s*=\s*"),
    # JSON fields named like secrets (Linux state documents, recorded device answers)
    (r"""(?P<keep>"(?:[a-z_-]*(?:password|passphrase|secret|psk)|private[_-]?key|preshared[_-]?key|"""
     r"""auth[_-]?pass|community|key-string)"\s*:\s*")(?P<value>(?:[^"\\\n]|\\.)*)(?P<tail>")""",
     re.IGNORECASE),
    # passwords in URLs: scp://user:PASSWORD@host/...
    (r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)(?P<value>[^\s@/]+)(?=@)", re.IGNORECASE),
    # Junos $9$ strings anywhere
    (r"(?P<keep>)(?P<value>\$9\$[^\s\";]+)", re.NOFLAG),
]


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    """``_RULES`` compiled, in order, on first use: compiling them is 5 ms, and only a text holding a trigger
    word (``TRIGGERS``) needs them, so a run that masks nothing (a fabric's plan) does not pay it."""
    return tuple(re.compile(source, flags) for source, flags in _RULES)


# Every match of every pattern above contains one of these words (in ``_folded`` text): a text without
# any has nothing to mask. A new pattern must keep this true (tests/hostile/test_secrets_corpus.py checks
# each sample, tests/test_secrets.py arbitrary text).
TRIGGERS = ("secret", "password", "passwd", "passphrase", "key", "auth", "priv", "community", "psk", "wpa",
            "snmp-server", "://", "$9$")

# The non-ASCII characters ``re.IGNORECASE`` matches to an ASCII letter (the JSON-field and URL patterns
# ignore case): folded to that letter before the trigger search, so a "password" spelt with a long s is
# found where the pattern finds it.
_TO_ASCII = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})  # dotted I, dotless i, long s, Kelvin


def _folded(text: str) -> str:
    """``text`` lowercased for the trigger search, as the patterns that ignore case read it."""
    return text.lower() if text.isascii() else text.translate(_TO_ASCII).lower()


# Characters configuration text seldom holds, rarest first (counted over the plans of the benchmark
# fabric): a word is looked for at the one of its characters that comes first here.
_RARE = "$k:wyvhc"


def _any_of(words: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern that finds any of ``words``: each at its rarest character (``_RARE``, else its first),
    the characters before it checked by a lookbehind and those after by a lookahead. ``re`` then passes
    over every character that starts no alternative in its C loop, where ``a|b|...`` of the words stops
    at every "s", "p", "a" and "c" to try them all (most configuration text holds no word: the whole text
    is scanned; tests/test_secrets.py checks the pattern finds exactly the words)."""
    tests: dict[str, list[str]] = {}  # character -> the tests around it, one per word
    for word in words:
        at = min(range(len(word)), key=lambda i: (word[i] not in _RARE, _RARE.find(word[i])))
        before, after = word[:at + 1], word[at + 1:]
        tests.setdefault(word[at], []).append((f"(?<={re.escape(before)})" if at else "")
                                              + (f"(?={re.escape(after)})" if after else ""))
    return re.compile("|".join(f"{re.escape(char)}(?:{'|'.join(around)})" for char, around in tests.items()))


_TRIGGERED = _any_of(TRIGGERS)  # one scan for any of them


_BREAK = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")  # where str.splitlines cuts a line


def _masked(match: re.Match[str]) -> str:
    groups = match.groupdict()
    return (groups.get("keep") or "") + MASK + (groups.get("tail") or "")


class SecretMasker:
    """Masks known secret syntax plus every literal registered with ``add``."""

    def __init__(self) -> None:
        self._literals: set[str] = set()
        self._longest_first: list[str] = []
        self._spaced: list[str] = []  # the literals with a space in them, longest first
        self._broken = False  # some literal holds a line break (``unchanged`` then tells nothing)
        self._prefixes: dict[str, bool] = {}  # ``_starts_nothing`` of each prefix asked, until the next ``add``

    def add(self, value: str | None) -> None:
        if value and len(value) >= 4:
            self._literals.add(value)
            # a diff or a list of commands is text cut into lines where str.splitlines cuts (\r, \x85,
            # \u2028 ...): each piece of a literal holding such a break is masked on its own line too
            self._literals.update(piece for piece in value.splitlines() if len(piece) >= 4)
            self._longest_first = sorted(self._literals, key=len, reverse=True)
            self._spaced = [literal for literal in self._longest_first if any(char.isspace() for char in literal)]
            self._broken = any(_BREAK.search(literal) for literal in self._literals)
            self._prefixes = {}

    def plain(self, text: str) -> bool:
        """True when ``text`` holds no trigger word and no registered literal: masking it changes nothing."""
        return _TRIGGERED.search(_folded(text)) is None and not any(literal in text for literal in self._longest_first)

    def unchanged(self, lines: Iterable[str], plain_lines: Container[str], prefix: str = "") -> bool:
        """True when masking the text of ``lines``, each after ``prefix``, joined by newlines, changes nothing,
        told mostly without scanning it: each line is one of ``plain_lines`` (lines of a text ``plain``
        says holds nothing to mask), or the others are ``plain`` together. Neither a trigger word nor a
        literal spans a newline (nothing is told where a literal holds one), so one in the text would lie
        within a line, or start in ``prefix``: that is ruled out first."""
        if self._broken:
            return False
        starts_nothing = self._prefixes.get(prefix)
        if starts_nothing is None:  # asked for every device's diff and commands: worked out once per prefix
            starts_nothing = self._prefixes[prefix] = self._starts_nothing(prefix)
        if not starts_nothing:
            return False
        others = [line for line in lines if line not in plain_lines]
        return not others or self.plain("\n".join(others))

    def unchanged_after(self, prefix: str) -> bool:
        """True when lines that mask as they are (``unchanged``) still do each after ``prefix``, joined by
        newlines: nothing to mask can start within ``prefix``, and no literal holds a line break."""
        return self.unchanged((), (), prefix)

    def _starts_nothing(self, prefix: str) -> bool:
        """True when no trigger word or literal can start within ``prefix`` (a diff's "+")."""
        folded = _folded(prefix)
        return not any(word.startswith(folded[at:]) or word in folded[at:]
                       for at in range(len(folded)) for word in TRIGGERS) and \
            not any(literal.startswith(prefix[at:]) or literal in prefix[at:]
                    for at in range(len(prefix)) for literal in self._literals)

    def __call__(self, text: str) -> str:
        # a literal with a space first: a pattern masks a secret's first word only ("secret 0 <masked> xyz"),
        # after which the rest of the literal would no longer be found
        for literal in self._spaced:
            text = text.replace(literal, MASK)
        if _TRIGGERED.search(_folded(text)):  # most configuration has no trigger word: skip 20-odd scans
            for pattern in _patterns():
                text = pattern.sub(_masked, text)
        for literal in self._longest_first:
            text = text.replace(literal, MASK)
        return text


def mask(text: str) -> str:
    """Mask secret syntax in ``text`` (no registered literals)."""
    return SecretMasker()(text)


SECRET_NAME = re.compile(r"pass|secret|key|community|token|psk|credential", re.IGNORECASE)


def looks_secret(name: str) -> bool:
    """Whether a variable or field called ``name`` may hold a secret (its value is never shown)."""
    return bool(SECRET_NAME.search(name))
