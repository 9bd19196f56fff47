"""A corpus test: no secret from the inventory, the environment or a running config appears in any
output of any command: plan (every format and --out), validate, apply results, errors, history."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import secrets
from engine.secrets import TRIGGERS, mask
from tests.conftest import SiteDir, run_intent

INVENTORY_SECRET = "Inv3ntoryPassw0rd"  # plaintext in the inventory (allowed by flag)
ENV_SECRET = "Env1ronmentPassw0rd"  # from password_env
RUNNING_SECRETS = ["$9$Qx7v2Lp0m4$Tz8sYk1Jw3Hq6Nf9Bd2Gc5Rv7Xa0Ue4Io3Pl8Km1Sn6", "sn1mpC0mmunity",
                   "0822455D0A16544541", "tacacsK3y", "Pr3Sh4redK3y", "$9$dGVzdC1qdW5vcy1zZWNyZXQ"]
RUNNING = """\
hostname acc1
!
enable secret 9 $9$Qx7v2Lp0m4$Tz8sYk1Jw3Hq6Nf9Bd2Gc5Rv7Xa0Ue4Io3Pl8Km1Sn6
username netops privilege 15 password 0 Inv3ntoryPassw0rd
!
interface GigabitEthernet1/0/1
 description uplink
!
interface GigabitEthernet1/0/3
 description desk
!
snmp-server community sn1mpC0mmunity RO
tacacs-server host 192.0.2.50 key 7 0822455D0A16544541
radius-server key tacacsK3y
crypto isakmp key Pr3Sh4redK3y address 0.0.0.0
end
"""


def outputs(site: SiteDir, *args: str) -> list[str]:
    result = run_intent(*args, env={"SECRET_PW": ENV_SECRET, "INTENT_STATE_DIR": str(site.root / "state")})
    return [result.stdout, result.stderr]


def test_no_secret_in_any_output(tmp_path: Path) -> None:
    site = SiteDir(tmp_path)
    site.write("inventory.yaml", f"""\
        all:
          hosts:
            core1: {{platform: linux, netns: nonexistent-core1}}
            acc1: {{platform: ios, host: 192.0.2.21, ansible_password: {INVENTORY_SECRET},
                    napalm_driver: mock, napalm_optional_args: {{path: acc1-recorded}}}}
            acc2: {{platform: eos, host: 192.0.2.22, password_env: SECRET_PW,
                    napalm_driver: mock, napalm_optional_args: {{path: acc2-recorded}}}}
        """)
    site.write("topology.yaml", """\
        links:
          - {a: core1:eth1, b: acc1:GigabitEthernet1/0/1, bandwidth: 1Gbps}
          - {a: core1:eth2, b: acc2:Ethernet1, bandwidth: 1Gbps}
        """)
    site.write("site.yaml", """\
        site: secrets
        inventory: inventory.yaml
        topology: topology.yaml
        intents:
          - name: users
            vlan: {id: 10, subnet: 10.10.0.0/24, gateway: core1, access: [acc1:GigabitEthernet1/0/3]}
          - name: video
            vlan: {id: 20, subnet: 10.20.0.0/24, gateway: core1, access: [acc2:Ethernet10]}
        """)
    site.write("running/acc1.cfg", RUNNING)
    site.write("running/acc2.cfg", RUNNING.replace("hostname acc1", "hostname acc2").replace(
        "username netops privilege 15 password 0 Inv3ntoryPassw0rd",
        f"username admin secret {ENV_SECRET}\nset system root-authentication encrypted-password "
        "\"$9$dGVzdC1qdW5vcy1zZWNyZXQ\""))
    # The vendor devices' NAPALM (mock) answers: their running config holds secrets, and a commit
    # fails with an error that quotes one, as real devices sometimes do.
    for name in ("acc1", "acc2"):
        directory = tmp_path / f"{name}-recorded"
        directory.mkdir()
        text = (tmp_path / "running" / f"{name}.cfg").read_text()
        for number in (1, 2):
            (directory / f"get_config.{number}").write_text(json.dumps({"running": text}))
        (directory / "load_merge_candidate.1").write_text("{}")
        (directory / "compare_config.1").write_text(json.dumps({"diff": "+vlan 10\n snmp-server community "
                                                                        "sn1mpC0mmunity RO"}))
        (directory / "discard_config.1").write_text("{}")
        (directory / "commit_config.1").write_text(json.dumps({
            "exception": "napalm.base.exceptions.MergeConfigException",
            "args": [f"line 3: username netops password {INVENTORY_SECRET} / {ENV_SECRET} rejected"]}))

    collected: list[str] = []
    running = str(tmp_path / "running")
    for fmt in ("text", "json", "markdown"):
        out = tmp_path / f"plan-{fmt}.json"
        collected += outputs(site, "plan", str(site.site), "--running", running, "--format", fmt, "--out", str(out),
                             "--allow-plaintext-secrets")
        collected.append(out.read_text())
    collected += outputs(site, "validate", str(site.site))  # refused: plaintext password (the message must not quote it)
    collected += outputs(site, "validate", str(site.site), "--allow-plaintext-secrets")
    collected += outputs(site, "apply", str(site.site), "--yes", "--allow-plaintext-secrets")  # core1 is unreachable
    site.write("inventory.yaml", (tmp_path / "inventory.yaml").read_text().replace(
        "core1: {platform: linux, netns: nonexistent-core1}", "core1: {platform: ios, napalm_driver: mock, "
        "password_env: SECRET_PW, napalm_optional_args: {path: acc1-recorded}}").replace("core1:eth", "core1:Ethernet"))
    site.write("topology.yaml", (tmp_path / "topology.yaml").read_text().replace("core1:eth", "core1:Ethernet"))
    collected += outputs(site, "apply", str(site.site), "--yes", "--allow-plaintext-secrets")  # commits fail
    collected += outputs(site, "history", str(site.site))
    collected += [path.read_text() for path in (tmp_path / "state").rglob("applies.jsonl")]

    corpus = "\n".join(collected)
    assert "rejected" in corpus and "<masked>" in corpus  # the failing commits were reported, masked
    for secret in [INVENTORY_SECRET, ENV_SECRET, *RUNNING_SECRETS]:
        assert secret not in corpus, f"{secret!r} leaked"


def test_masking_patterns() -> None:
    text = mask("enable secret 5 $1$abc$xyz\nsnmp-server community public RO\n key 7 045802150C2E\n"
                "snmp-server user u g v3 auth sha AUTHPW priv aes 128 PRIVPW\ncrypto isakmp key K3Y address 0.0.0.0")
    for secret in ("$1$abc$xyz", "public", "045802150C2E", "AUTHPW", "PRIVPW", "K3Y"):
        assert secret not in text


def test_a_missing_secret_is_prompted_once_and_kept_for_this_process(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from drivers.ssh import password_for
    from engine.model import Device

    asked: list[str] = []
    monkeypatch.delenv("PROMPTED_PW", raising=False)

    def prompt(label: str) -> str:
        asked.append(label)
        return "typed-secret"

    one = Device("sw1", "ios", "napalm", username="netops", password_env="PROMPTED_PW")
    two = Device("sw2", "ios", "napalm", username="netops", password_env="PROMPTED_PW")
    assert password_for(one, prompt) == "typed-secret" and password_for(two, prompt) == "typed-secret"
    assert asked == ["password for netops@sw1 ($PROMPTED_PW): "]  # asked once, for the variable
    import os

    assert os.environ["PROMPTED_PW"] == "typed-secret"  # so children (the reverter) and the masker have it


# The trigger shortcut of SecretMasker (engine.secrets.TRIGGERS): text without a trigger word is not
# run through the patterns. Lines made of the words the patterns and triggers look for, in any case and
# spacing and spelt with the characters re.IGNORECASE matches to an ASCII letter, JSON fields among them.
_WORDS = st.sampled_from([
    *TRIGGERS, "enable", "username", "snmp-server host", "authentication", "-key", "key-string", "md5", "7", "0",
    "ntp", "crypto isakmp", "pre-shared-key", "wpa-psk", "ascii", "set-key", "private_key", "auth_pass",
    "PrivateKey", "psk=", "scp://u:", "https", "u", "@h", "$9$", "$", "9", "priv", "aes", "enable secret 5 ",
])
_GLUE = st.sampled_from(['"', '":', "'", ";", "=", "{", "}", "+", "-", "\u0130", "\u0131", "\u017f", "\u212a",
                         "\u00e9", " ", "  ", "\t", "\n", " \n ", "\r\n", "\u00a0", "\u2028"])
_VARIANTS = {"s": "sS\u017f", "i": "iI\u0130\u0131", "k": "kK\u212a"}  # what re.IGNORECASE takes for each letter


@st.composite
def _respelt(draw: st.DrawFn, words: st.SearchStrategy[str] = _WORDS) -> str:
    """A word with each letter in either case, or as a character re.IGNORECASE matches to it."""
    return "".join(draw(st.sampled_from(_VARIANTS.get(char.lower(), char + char.upper()))) for char in draw(words))


_FIELDS = st.builds(lambda name, space, value: f'"{name}"{space}:{space}"{value}"',
                    _respelt(st.sampled_from(["password", "x_passphrase", "secret", "psk", "private-key",
                                              "preshared_key", "auth_pass", "community", "key-string"])),
                    st.sampled_from(["", " ", "\n"]), st.text(max_size=4))
_LINES = st.lists(st.one_of(_respelt(), _GLUE, _FIELDS, st.text(max_size=3)), max_size=14).map("".join)


def _every_pattern(text: str) -> str:
    for pattern in secrets._patterns():
        text = pattern.sub(secrets._masked, text)
    return text


@settings(max_examples=600, deadline=None)
@given(_LINES)
def test_the_trigger_shortcut_never_changes_what_is_masked(text: str) -> None:
    assert mask(text) == _every_pattern(text)


@settings(max_examples=600, deadline=None)
@given(_LINES)
def test_the_trigger_search_finds_exactly_the_trigger_words(text: str) -> None:
    folded = secrets._folded(text)
    assert (secrets._TRIGGERED.search(folded) is not None) == any(word in folded for word in TRIGGERS)


def test_the_folding_takes_every_character_ignorecase_matches_to_an_ascii_letter() -> None:
    others = "".join(map(chr, range(128, 0x110000)))
    letters = re.compile("[a-z]", re.IGNORECASE).findall(others)
    assert sorted(letters) == sorted(chr(c) for c in secrets._TO_ASCII)
    assert all(re.fullmatch(secrets._TO_ASCII[ord(c)], c, re.IGNORECASE) for c in letters)


def test_a_secret_field_spelt_with_letters_ignorecase_folds_is_masked() -> None:
    for field in ("pa\u017f\u017fword", "commun\u0130ty", "commun\u0131ty", "private_\u212aey"):
        assert mask(f'{{"{field}": "hunter2"}}') == f'{{"{field}": "<masked>"}}'


_LITERALS = st.lists(st.sampled_from(["bench-secret", "+abc", "ab\ncd", "pass word", "keyy", "-key", "aaaa"]), max_size=2)


@settings(max_examples=600, deadline=None)
@given(_LINES, st.lists(st.one_of(_LINES, st.integers(0, 20)), max_size=8), st.sampled_from(["", "+", "-", " ", "k", "$", "ke", "a:/"]),
       _LITERALS)
def test_lines_told_unchanged_mask_unchanged(known: str, picks: list[str | int], prefix: str, literals: list[str]) -> None:
    """SecretMasker.unchanged: lines of a text with nothing to mask (or others with nothing to mask
    together), each after the prefix and joined, come out of the masker exactly as they went in."""
    masker = secrets.SecretMasker()
    for literal in literals:
        masker.add(literal)
    plain_lines = known.split("\n")
    lines = [plain_lines[pick % len(plain_lines)] if isinstance(pick, int) else pick for pick in picks]
    if masker.plain(known) and masker.unchanged(lines, frozenset(plain_lines), prefix):
        text = "\n".join(prefix + line for line in lines)
        assert masker(text) == text


@settings(max_examples=300, deadline=None)
@given(_LINES, st.lists(st.tuples(st.sampled_from(["no ", "delete ", "", "no", "n", "delete set "]),
                                 st.one_of(_LINES, st.integers(0, 20))), max_size=8),
       st.lists(st.sampled_from(["bench-secret", "+abc", "ab\ncd", "pass word", "o key", "te x", "no s"]), max_size=2))
def test_a_rollback_told_unchanged_is_what_masking_it_gives(known: str, picks: list[tuple[str, str | int]],
                                                             literals: list[str]) -> None:
    """plan._shown_rollback: config lines negated (``no `` + a line, ``delete `` + what follows a line's
    ``set ``) are shown as _mask_lines shows them, whether or not it scans them."""
    from engine.plan import _mask_lines, _shown_config, _shown_rollback

    masker = secrets.SecretMasker()
    for literal in literals:
        masker.add(literal)
    lines = ("set " + known).split("\n") + known.split("\n")
    rollback = tuple(prefix + (lines[pick % len(lines)].removeprefix("set " if prefix == "delete " else "")
                               if isinstance(pick, int) else pick) for prefix, pick in picks)
    _, plain_lines = _shown_config(masker, "set " + known + "\n" + known)
    assert _shown_rollback(masker, rollback, plain_lines) == _mask_lines(masker, rollback)


def test_a_rollback_of_config_lines_negated_is_not_scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.plan import _shown_config, _shown_rollback

    masker = secrets.SecretMasker()
    masker.add("hunter22")
    _, plain_lines = _shown_config(masker, "interface Ethernet1\nset vlans v2 vlan-id 2\n")
    monkeypatch.setattr(secrets.SecretMasker, "__call__", None)  # no text masked: told from the lines
    rollback = ("no interface Ethernet1", "delete vlans v2 vlan-id 2")
    assert _shown_rollback(masker, rollback, plain_lines) is rollback


def test_a_prefix_that_can_start_a_trigger_or_literal_is_never_told_unchanged() -> None:
    masker = secrets.SecretMasker()
    masker.add("+abc")
    assert masker.unchanged(["ey x"], {"ey x"}) and not masker.unchanged(["ey x"], {"ey x"}, "k")
    assert not masker.unchanged(["abc"], {"abc"}, "+") and masker.unchanged(["abc"], {"abc"}, "-")
    assert not masker.unchanged(["9$x"], {"9$x"}, "$")
    masker.add("two\nlines")
    assert not masker.unchanged(["x"], {"x"})


def test_what_unchanged_worked_out_for_a_prefix_is_asked_again_after_an_add() -> None:
    # unchanged() keeps what it works out of a prefix and of the literals until the next add()
    masker = secrets.SecretMasker()
    assert masker.unchanged(["abc"], {"abc"}, "+") and masker.unchanged(["x"], {"x"})
    masker.add("+abc")
    assert not masker.unchanged(["abc"], {"abc"}, "+") and masker.unchanged(["x"], {"x"})
    masker.add("two\nlines")
    assert not masker.unchanged(["x"], {"x"})


def test_a_password_with_a_space_is_masked_whole_after_a_keyword() -> None:
    # the pattern masks the word after "secret 0"; the literal's rest was then shown
    masker = secrets.SecretMasker()
    masker.add("hunter2 xyz")
    assert masker("username admin secret 0 hunter2 xyz") == "username admin secret 0 <masked>"
    masker = secrets.SecretMasker()
    masker.add("secret")  # a password that is a keyword still lets the pattern mask what follows it
    assert masker("enable secret 0 hunter22") == "enable <masked> 0 <masked>"


_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789xyz #" + _BREAKS, min_size=4, max_size=16).filter(lambda s: len(s.strip()) >= 4))
def test_a_password_is_masked_on_every_line_a_diff_cuts_its_text_into(password: str) -> None:
    # a diff and a list of commands are the text cut where str.splitlines cuts, a password with such a
    # break in it too: no piece of it as long as a literal the masker takes (4) shows on any line
    masker = secrets.SecretMasker()
    masker.add(password)
    text = f"username admin secret 0 {password}\ndescription {password}\nsnmp-server location {password}x\n"
    pieces = [piece for piece in password.splitlines() if len(piece) >= 4]
    assert password not in masker(text)
    for line in text.splitlines():
        shown = masker(line)
        assert not any(piece in shown for piece in pieces), (line, shown)
        assert shown == line or not masker.unchanged([line], set())  # told unchanged only when it is
