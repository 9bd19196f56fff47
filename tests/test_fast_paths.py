"""The remediation's fast paths give exactly what hier_config's own full path gives.

``engine.remediate`` skips work hier_config would do for nothing (the delta of a device with nothing
configured yet is its whole desired config; ordering weights are looked up per distinct lineage;
sections a running and a merged config have alike are left out of ``config_to_get_to``).
Here every remediation the golden sites, the brownfield corpus and a generated fabric ask for is
computed again with the straightforward calls (``config_to_get_to`` both ways, ``set_order_weight``)
and must give the same commands, the same rollback and the same refusals.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hier_config.exceptions import DuplicateChildError

from engine import cliconfig, remediate
from engine.compiler import compile_site
from engine.errors import ValidationError
from engine.loader import load_site
from engine.plan import RunningState, make_plan
from engine.render import platform_spec
from tests.bench import fabric
from tests.brownfield import test_corpus

GOLDEN = Path(__file__).parent / "golden"
Call = tuple[str, list[cliconfig.Node], list[cliconfig.Node], tuple[tuple[str, str], ...]]


def reference(platform: str, running: list[cliconfig.Node], merged: list[cliconfig.Node],
              takeover: tuple[tuple[str, str], ...] = ()) -> remediate.Remediation:
    """The remediation as hier_config's documented calls compute it, no shortcut taken."""
    syntax = platform_spec(platform).syntax
    assert syntax is not None
    before = remediate.hconfig(platform, remediate.content(running, syntax))
    after = remediate.hconfig(platform, remediate.content(merged, syntax))
    forward = before.config_to_get_to(after).set_order_weight()
    remediate._tag(forward, before, after, running, syntax, set(takeover))
    backward = after.config_to_get_to(before).set_order_weight()
    remediate._tag(backward, after, before, merged, syntax, set(takeover), check=False)
    return remediate.Remediation(remediate._commands(forward, before, syntax), remediate._commands(backward, after, syntax))


def _recorded(monkeypatch: pytest.MonkeyPatch, sites: list[tuple[Path, Path]]) -> list[Call]:
    """Every remediate() call planning ``sites`` (site file, running directory) makes."""
    calls: list[Call] = []
    original = remediate.remediate

    def spy(platform: str, running: list[cliconfig.Node], merged: list[cliconfig.Node],
            takeover: Any = ()) -> remediate.Remediation:
        calls.append((platform, running, merged, tuple(takeover)))
        return original(platform, running, merged, takeover)

    monkeypatch.setattr(remediate, "remediate", spy)
    for site_file, running in sites:
        site = load_site(site_file)
        try:
            make_plan(site, compile_site(site), RunningState(running))
        except ValidationError:
            pass  # refusals are compared call by call below
    monkeypatch.setattr(remediate, "remediate", original)
    return calls


def _forged(call: Call) -> Call:
    """A merge that drops what the running config has beside the engine's lines (the first section
    with children loses them, the last top line goes): remediation must refuse or tag it alike."""
    platform, running, merged, takeover = call
    forged = [cliconfig.Node(node.text, [], node.raw) if node.children else node for node in running]
    return platform, running, forged[:-1], takeover


def _outcome(function: Any, call: Call) -> tuple[str, Any]:
    try:
        return "ok", function(*call)
    except remediate.NotOwnedError as exc:
        return "refused", str(exc)
    except DuplicateChildError as exc:
        return "duplicate", str(exc)


def _corpus_sites(root: Path) -> Iterator[tuple[Path, Path]]:
    for case in sorted(GOLDEN.glob("*/*/site.yaml")):
        running = case.parent / "running"
        yield case, running if running.is_dir() else root / "none"
    for name in test_corpus.CASES:
        entry = test_corpus.MANIFEST[name]
        text = (test_corpus.HERE / "corpus" / name).read_text()
        where = root / name.replace("/", "-")  # with takeover: without, most are refused before remediation
        yield test_corpus.write_site(where, name.split("/")[0], text, entry["roles"], True), where / "running"
    yield fabric.generate(root / "fabric", 44, guarantees=10), root / "fabric" / "running"


@pytest.fixture(scope="module")
def corpus_calls(tmp_path_factory: pytest.TempPathFactory) -> list[Call]:
    """The remediate() calls of the whole corpus, planned once for the tests of this module."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _recorded(monkeypatch, list(_corpus_sites(tmp_path_factory.mktemp("corpus"))))


def test_fast_paths_equal_the_full_hier_config_path(corpus_calls: list[Call]) -> None:
    calls = list(corpus_calls)
    fresh = [call for call in calls if not call[1]]
    assert len(fresh) >= 40 and {call[0] for call in fresh} == {"ios", "eos", "nxos", "junos"}
    assert len(calls) - len(fresh) >= 44  # the brownfield corpus and the golden brownfield cases
    pruned = 0
    for platform, running, merged, _ in calls:
        syntax = platform_spec(platform).syntax
        assert syntax is not None
        before = remediate.hconfig(platform, remediate.content(running, syntax))
        after = remediate.hconfig(platform, remediate.content(merged, syntax))
        pruned += len(remediate._without_common(platform, before, after)[0].children) < len(before.children)
    assert pruned >= 30  # sections both sides have alike are left out of config_to_get_to on most brownfield calls
    calls += [_forged(call) for call in calls if call[1]]
    outcomes = [_outcome(remediate.remediate, call) for call in calls]
    assert any(kind == "refused" for kind, _ in outcomes)
    for call, outcome in zip(calls, outcomes, strict=True):
        assert outcome == _outcome(reference, call), f"{call[0]}: {cliconfig.render(call[2], platform_spec(call[0]).syntax)}"


def test_order_weights_equal_set_order_weight(corpus_calls: list[Call]) -> None:
    calls = corpus_calls[::4]
    compared = 0
    for platform, running, merged, _ in calls:
        syntax = platform_spec(platform).syntax
        assert syntax is not None
        for nodes in (running, merged):
            ours = remediate.set_weights(platform, remediate.hconfig(platform, remediate.content(nodes, syntax)))
            theirs = remediate.hconfig(platform, remediate.content(nodes, syntax)).set_order_weight()
            weights = [(c.text, c.order_weight) for c in ours.all_children()]
            assert weights == [(c.text, c.order_weight) for c in theirs.all_children()]
            compared += sum(1 for _, weight in weights if weight != 500)
    assert compared > 0  # some line did take a rule's weight


def test_a_fresh_config_with_repeated_siblings_takes_the_full_path() -> None:
    """Two siblings of one text (IOS allows them in a ``router`` address family) are where a copy of
    the tree could differ from it: the fast path leaves them to the full path."""
    syntax = platform_spec("ios").syntax
    assert syntax is not None
    merged = cliconfig.parse("router bgp 65000\n address-family ipv4\n  network 10.0.0.0\n  network 10.0.0.0\n"
                             "interface Vlan10\n ip address 10.10.0.1 255.255.255.0\n", syntax)
    tree = remediate.hconfig("ios", remediate.content(merged, syntax))
    assert not remediate._distinct_siblings(tree)
    assert remediate.remediate("ios", [], merged) == reference("ios", [], merged)


def _shape(tree: Any) -> list[tuple[int, str, int]]:
    return [(child.depth(), child.text, child.order_weight) for child in tree.all_children()]


def test_reading_without_line_rules_gives_hier_configs_own_tree(corpus_calls: list[Call]) -> None:
    """``hconfig`` skips the per-line substitutions only when none would change a line: every text the
    corpus plans read (and the corpus's raw running configs, with their banners, ``!`` comment lines and
    ``Building configuration``) gives the tree hier_config's own driver gives."""
    from hier_config import get_hconfig

    texts: list[tuple[str, str]] = []
    for platform, running, merged, _ in corpus_calls[::2]:
        syntax = platform_spec(platform).syntax
        assert syntax is not None
        texts += [(platform, remediate.content(nodes, syntax)) for nodes in (running, merged)]
    texts += [(name.split("/")[0], (test_corpus.HERE / "corpus" / name).read_text()) for name in test_corpus.CASES]
    texts += [("ios", "interface Gi1/0/1\n  no ip address\n description  two  spaces\n"),
              ("nxos", "interface Ethernet1/1\n description a!b\n")]
    skipped = 0
    for platform, text in texts:
        bare, search = remediate._without_line_subs(platform)
        skipped += search is not None and remediate.hconfig(platform, text).driver is bare
        assert _shape(remediate.hconfig(platform, text)) == _shape(get_hconfig(remediate.hier_driver(platform), text))
    assert skipped >= 20


def test_the_token_check_sees_every_string_of_every_model(tmp_path: Path) -> None:
    """``check_tokens`` walks only the fields whose type can hold a string; on every model of the golden
    sites and a fabric, what it sees is every string the full walk (the one refusals are worded from)
    finds, with the same roles."""
    from engine import render

    sites = [case for case in sorted(GOLDEN.glob("*/*/site.yaml"))] + [fabric.generate(tmp_path / "f", 30, guarantees=6)]
    models = [model for site_file in sites for model in compile_site(load_site(site_file)).models.values()]
    assert {model.platform for model in models} == {"linux", "ios", "eos", "nxos", "junos"}
    for model in models:
        seen = {(role, value) for role, values in render._values(model).items() for value in values}
        assert seen == {(role, value) for _, role, value in render._strings(model, "")}


@pytest.mark.parametrize("text", [
    "logging console informational\ninterface Vlan10\n ip address 10.10.0.1 255.255.255.0\n",  # undo names nothing here
    "logging console debugging\nlogging console informational\n",  # two undo lines of one text
    "no ip domain-lookup\nip domain-lookup\n",  # a negation takes a later line's text
])
def test_fresh_configs_hier_config_treats_specially_give_the_same_outcome(text: str) -> None:
    syntax = platform_spec("ios").syntax
    assert syntax is not None
    merged = cliconfig.parse(text, syntax)
    call: Call = ("ios", [], merged, ())
    assert _outcome(remediate.remediate, call) == _outcome(reference, call)


def test_a_device_with_nothing_running_has_no_conflict(tmp_path: Path) -> None:
    """make_plan skips takeover.find when nothing runs on a device: it finds nothing there anyway."""
    from engine import takeover

    sites = [case for case in sorted(GOLDEN.glob("*/*/site.yaml"))] + [fabric.generate(tmp_path / "f", 30, guarantees=6)]
    checked = 0
    for site_file in sites:
        for config in compile_site(load_site(site_file)).configs.values():
            spec = platform_spec(config.platform)
            if spec.syntax is None:
                continue
            desired = cliconfig.parse(config.text, spec.syntax)
            assert takeover.find(config.device, [], desired, spec.syntax, spec.raw, "") == []
            checked += 1
    assert checked >= 30


def test_a_common_section_a_top_rule_relates_to_another_line_stays_in() -> None:
    """``errdisable recovery interval 60`` in both configs makes the running ``... 30`` idempotent (it is
    replaced, not negated): leaving the common line out would negate it."""
    syntax = platform_spec("ios").syntax
    assert syntax is not None
    running = cliconfig.parse("errdisable recovery interval 30\nerrdisable recovery interval 60\ninterface Gi1/0/1\n"
                              " description x\n", syntax)
    merged = cliconfig.parse("errdisable recovery interval 60\ninterface Gi1/0/1\n description x\n"
                             " switchport access vlan 10\n", syntax)
    call: Call = ("ios", running, merged, ())
    before = remediate.hconfig("ios", remediate.content(running, syntax))
    after = remediate.hconfig("ios", remediate.content(merged, syntax))
    assert len(remediate._without_common("ios", before, after)[0].children) == 3
    assert _outcome(remediate.remediate, call) == _outcome(reference, call)


def test_fresh_devices_are_remediated_without_hier_config_trees(corpus_calls: list[Call]) -> None:
    """Most fresh devices of the corpus take ``_fresh_direct`` (no hier_config tree is built), on every
    CLI platform; what it gives is what hier_config's full path gives (as in the first test)."""
    direct: dict[str, int] = {}
    for platform, running, merged, takeover in corpus_calls:
        if running:
            continue
        syntax = platform_spec(platform).syntax
        assert syntax is not None
        found = remediate._fresh_direct(platform, merged, syntax)
        if found is not None:
            direct[platform] = direct.get(platform, 0) + 1
            assert found == reference(platform, running, merged, takeover)
    assert set(direct) == {"ios", "eos", "nxos", "junos"} and sum(direct.values()) >= 40


def test_negations_worked_out_from_the_rules_are_hier_configs(corpus_calls: list[Call]) -> None:
    """``_plain_negation`` (the driver's one-level rules as predicates, then the prefix swap) gives what
    ``HConfigChild.negate`` gives, for every top line the corpus plans and lines its rules single out."""
    texts = {(platform, node.text) for platform, running, merged, _ in corpus_calls
             for node in (*running, *merged) if node.text}
    texts |= {("ios", "logging console informational"), ("ios", "no ip domain-lookup"), ("eos", "no shutdown"),
              ("nxos", "default interface Ethernet1/1"), ("junos", "delete vlans v10"),
              ("junos", "set vlans v10 vlan-id 10"), ("eos", "logging event link-status")}
    worked_out = 0
    for platform, text in sorted(texts):
        plain = remediate._plain_negation(platform, text)
        if plain is not None:
            worked_out += 1
            assert plain == remediate._negation_by_hier_config(platform, text), (platform, text)
    assert worked_out >= len(texts) - 2


@pytest.mark.parametrize(("platform", "text"), [
    ("ios", "banner motd ^C\nhello\n^C\ninterface Vlan10\n description intent:x\n"),  # a banner is read whole
    ("ios", "interface Gi1/0/1\n description x\n exit\n"),  # an exit line hier_config drops on reading
    ("ios", "router bgp 65000\n address-family ipv4\n  network 10.0.0.0\n  exit-address-family\n"),
    ("ios", "router bgp 65000\n address-family ipv4\n  network 10.0.0.0\n"),  # an exit of the section's own
    ("ios", "version 15.2\ninterface Gi1/0/1\n description x\n"),  # a per-line substitution drops a line
    ("ios", "ip access-list extended INTENT-A\n permit ip any any\n remark why\n"),  # IOS's ACL callbacks
    ("ios", "ip access-list extended INTENT-A\n 10 permit ip any any\n"),
    ("ios", "ip access-list extended INTENT-A\n permit ip any any\n deny ip any any\n 30 permit tcp any any\n"
            "interface Vlan10\n ip access-group INTENT-A in\n"),  # numbered on reading, as hier_config does
    ("ios", "ip access-list extended A\n 10 permit ip any any\n permit ip any any\n"),  # numbering makes a twin
    ("ios", "vlan 10,20\nvlan 30\n name thirty\n"),  # a collapsed VLAN list is split on reading
    ("ios", "interface Gi1/0/1\n description  two  spaces\n"),  # the reader folds inner whitespace
    ("ios", "interface Gi1/0/1\n switchport\ninterface Gi1/0/1\n shutdown\n"),  # two sections of one text
    ("eos", "vlan 10\n name ten\n!\ninterface Ethernet1\n switchport access vlan 10\n logging event link-status\n"),
    ("eos", "no ip routing\nip routing\n"),
    ("nxos", "feature interface-vlan\ninterface Ethernet1/1\n no switchport\n ip address 10.0.0.0/31\n"),
    ("junos", "set vlans v10 vlan-id 10\nset vlans v10 description intent:x\nset interfaces irb unit 10 family "
              "inet address 10.10.0.1/24\n"),
    ("junos", "set vlans v10 vlan-id 10\nset vlans v10 description  spaced\n"),
])
def test_fresh_configs_the_direct_path_reads_or_leaves_give_the_same_outcome(platform: str, text: str) -> None:
    """Fresh configs where hier_config's reader does more than read lines (banners, exit lines, per-line
    substitutions, IOS's ACL and VLAN-list callbacks, folded whitespace, repeated sections) or does not:
    remediate gives what hier_config's full path gives, whichever path it takes."""
    syntax = platform_spec(platform).syntax
    assert syntax is not None
    merged = cliconfig.parse(text, syntax)
    call: Call = (platform, [], merged, ())
    assert _outcome(remediate.remediate, call) == _outcome(reference, call)


@pytest.mark.parametrize(("pattern", "start"), [
    ("^ip access-list INTENT-", "ip access-list INTENT-"), ("^no qos profile", "no qos profile"),
    ("^interface \\S+", "interface "), ("^vlans? ", "vlan"), ("^ab*c", "a"), ("^a{2}", ""), ("^ab|cd", ""),
    ("interface", ""), ("^(?:x)", ""), ("^a.b", "a"), ("^class-map (match-any|match-all) INTENT-", "class-map "),
    ("^(a)|b", ""), ("^a[|]b", "a"), ("^a\\|b", "a"), ("^a[]|]b", "a"), ("^(a|b)c|d", ""),
])
def test_the_literal_start_of_an_ordering_rule_is_what_every_line_it_matches_starts_with(pattern: str,
                                                                                         start: str) -> None:
    from hier_config.models import MatchRule

    assert remediate._literal_start(MatchRule(re_search=pattern)) == start
    assert remediate._literal_start(MatchRule(startswith="ip route")) == "ip route"


@pytest.mark.parametrize("platform", ["linux", "ios", "eos", "nxos", "junos"])
def test_the_token_check_in_passes_says_what_token_problem_says(platform: str) -> None:
    """``check_tokens`` first checks each role's values together (printable ASCII, the role's pattern whole):
    a set it passes holds no value ``token_problem`` refuses, and a value token_problem takes (printable
    ASCII) never sends the set to the value-by-value check."""
    from engine import identifiers, render

    values = ["INTENT-g000", "Ethernet1/1", "10.0.0.0/24", "a b", "a\nb", "caf\u00e9", "", "x" * 81, "\x00",
              "ge-0/0/1.0", "v10", "a;b", "a\tb", "\u2028", "{", "intent:site:v2", "'quoted'"]
    for role in ("word", "interface", "vlan_name"):
        for value in values:
            plain = render._all_plain_tokens(platform, role, {value})
            problem = identifiers.token_problem(platform, role, value)
            assert not plain or problem is None, (role, value)
            assert plain or problem is not None or not (value.isascii() and value.isprintable()), (role, value)


def test_a_template_cache_that_cannot_be_read_or_written_only_compiles_again(tmp_path: Path) -> None:
    """Compiled templates are cached (Jinja's bytecode cache): a cut-short entry is compiled again, and an
    entry that cannot be written (here: its directory is gone; a full disk alike) is not an error."""
    import jinja2

    from engine import render

    cache = render._TemplateCache(str(tmp_path))
    bucket = jinja2.bccache.Bucket(render.environment(), "key", "checksum")
    Path(cache._get_cache_filename(bucket)).write_bytes(jinja2.bccache.bc_magic + b"\x00\x01")
    cache.load_bytecode(bucket)
    assert bucket.code is None
    bucket.code = compile("x = 1", "<t>", "exec")
    render._TemplateCache(str(tmp_path / "gone")).dump_bytecode(bucket)
    assert not (tmp_path / "gone").exists()


@pytest.mark.parametrize(("before", "after"), [
    ([], []), ([], ["a"]), ([], ["a", "b", "c"]), ([], ["", " x", "+y", "-z", "@@"]), ([], [f"l{i}" for i in range(50)]),
    (["a"], []), (["a", "b"], ["a", "c"]),
])
def test_a_diff_from_nothing_is_difflibs(before: list[str], after: list[str]) -> None:
    """``unified`` writes the diff of a fresh device (nothing before) itself: it is difflib's, byte for byte."""
    import difflib

    from engine.plan import unified

    text = "\n".join(difflib.unified_diff(before, after, "d (running)", "d (intent)", lineterm="", n=3))
    assert unified(before, after, "d") == (text + "\n" if text else "")


def test_the_objects_render_lists_are_the_documents() -> None:
    """render keeps the objects it listed for the template on the DeviceConfig (the plan diffs them): they
    are ``linux.objects`` of the document, sorted again or not."""
    from engine import linux

    compared = 0
    for case in sorted(GOLDEN.glob("*/*/site.yaml")):
        for config in compile_site(load_site(case)).configs.values():
            if config.document is not None:
                assert config.objects is not None and list(config.objects) == linux.objects(config.document)
                compared += 1
    assert compared >= 3


def _insert_by_scanning(result: list[cliconfig.Node], node: cliconfig.Node, syntax: cliconfig.PlatformSyntax,
                        after: str | None) -> None:
    """How a merge placed a new section before its placement kept kinds beside the sections: scans."""
    kind = cliconfig._kind(node.text, syntax)
    if after is not None and cliconfig._kind(after, syntax) == kind:
        for index, existing in enumerate(result):
            if existing.text == after:
                result.insert(index + 1, node)
                return
    for index in range(len(result) - 1, -1, -1):
        if result[index].text and cliconfig._kind(result[index].text, syntax) == kind:
            result.insert(index + 1, node)
            return
    if result and not result[-1].text:
        result.insert(len(result) - 1, node)
    else:
        result.append(node)


@pytest.mark.parametrize("seed", range(40))
def test_placing_new_sections_by_kind_lists_is_placing_them_by_scanning(seed: int) -> None:
    import random

    generator = random.Random(seed)
    words = ["interface", "ip", "vlan", "set interfaces", "set vlans", "router", "class-map"]

    def text() -> str:
        return f"{generator.choice(words)} {generator.choice(['a', 'b', 'c', 'd'])} {generator.randrange(5)}"

    for platform in ("ios", "junos"):
        syntax = platform_spec(platform).syntax
        assert syntax is not None

        running = [cliconfig.Node(text()) for _ in range(generator.randrange(6))]
        if generator.random() < 0.5:
            running.append(cliconfig.Node("", leading=["end"]))
        expected = list(running)
        placed = cliconfig._Placed(list(running), syntax)
        previous = None
        for _ in range(generator.randrange(1, 12)):
            node = cliconfig.Node(text())
            after = previous if generator.random() < 0.8 else text()
            _insert_by_scanning(expected, node, syntax, after)
            placed.insert(node, after)
            previous = node.text
        assert [n.text for n in placed.result] == [n.text for n in expected]


@pytest.mark.parametrize("text", ["interface Ethernet1", "a  b", " a", "a ", "a\tb", "a\u00a0b", "a\u2028b", "", " ",
                                  "caf\u00e9 x", "a\x85b", "x\u3000y", "description intent:site:v2"])
def test_folded_is_what_the_reader_folds_a_line_to(text: str) -> None:
    assert remediate._folded(text) == (bool(text) and text == " ".join(text.split()))


def test_order_weights_of_the_direct_path_are_set_weights(corpus_calls: list[Call]) -> None:
    """``_by_weight`` (the rules that can match under a lineage, looked up once per lineage, a line's
    literal start tested first) orders every level of every fresh tree as sorting by ``_weight`` does."""
    compared = 0
    for platform, running, merged, _ in corpus_calls:
        syntax = platform_spec(platform).syntax
        assert syntax is not None
        if running or syntax.style == "set":
            continue
        top = [remediate._plain_branch(platform, node, (), []) for node in merged if node.text]
        stack: list[tuple[tuple[str, ...], list[remediate.Branch]]] = [((), [b for b in top if b is not None])]
        while stack:
            lineage, branches = stack.pop()
            expected = sorted(branches, key=lambda branch: remediate._weight(platform, (*lineage, branch[0])) or 0)
            assert remediate._by_weight(platform, lineage, branches) == expected, (platform, lineage)
            compared += len(branches)
            stack += [((*lineage, text), children) for text, children in branches if children]
    assert compared >= 1000


_NUMBERED_AND_ORDERED = ("ip access-list extended INTENT-A\n permit ip any any\n deny ip any any\ninterface Vlan10\n"
                         " no shutdown\n ip access-group INTENT-A in\n switchport mode access\nvlan 10\n name ten\n")


def test_commands_taken_from_the_lines_read_are_the_lines_emitted(corpus_calls: list[Call]) -> None:
    """``_emit_plain`` takes the lines of a section without subsections as ``_plain_tree`` wrote them
    (``Blocks``) where no ordering rule can sort them: the commands are those of emitting every line again,
    on every fresh tree of the corpus and one where IOS's callbacks number an ACL and rules order a port."""
    syntax = platform_spec("ios").syntax
    assert syntax is not None
    calls = [*corpus_calls, ("ios", [], cliconfig.parse(_NUMBERED_AND_ORDERED, syntax), ())]
    compared = 0
    for platform, running, merged, _ in calls:
        syntax = platform_spec(platform).syntax
        reader = remediate._plain_reader(platform)
        assert syntax is not None
        if running or syntax.style == "set" or reader is None:
            continue
        blocks: remediate.Blocks = {}
        tree = remediate._plain_tree(platform, merged, syntax, reader, blocks)
        if tree is None:
            continue
        written: list[str] = []
        emitted: list[str] = []
        remediate._emit_plain(platform, tree, (), written, blocks)
        remediate._emit_plain(platform, tree, (), emitted)
        assert written == emitted, platform
        compared += len(emitted)
    assert compared >= 1000
    assert "10 permit ip any any" in " ".join(written) and written.index(" ip access-group INTENT-A in") < \
        written.index(" no shutdown")  # the last: numbered by the callback, and ordered by a rule


@pytest.mark.parametrize("seed", range(30))
def test_merging_into_nothing_places_sections_as_the_merge_does(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """``merge([], desired)`` groups new sections by kind in one pass (``_merge_fresh``): the same nodes,
    in the same order, as placing them one by one; sections of one text take the general path."""
    import random

    generator = random.Random(seed)
    words = ["interface", "ip", "vlan", "set interfaces", "set vlans", "router", "class-map"]
    for platform in ("ios", "junos"):
        syntax = platform_spec(platform).syntax
        assert syntax is not None
        desired = [cliconfig.Node(f"{generator.choice(words)} {generator.choice('abcd')} {generator.randrange(4)}",
                                  [cliconfig.Node("x")] if generator.random() < 0.5 else [],
                                  leading=generator.choice([[], ["!"], ["! note", " !"], ["#"]]))
                   for _ in range(generator.randrange(12))]
        if generator.random() < 0.3:
            desired.append(cliconfig.Node("", leading=["end"]))
        ours = cliconfig.merge([], desired, syntax)
        with monkeypatch.context() as patched:
            patched.setattr(cliconfig, "_merge_fresh", lambda nodes, syntax: None)
            placed = cliconfig.merge([], desired, syntax)
        assert [(n.text, n.raw, n.leading, n.children) for n in ours] == \
            [(n.text, n.raw, n.leading, n.children) for n in placed]


def test_the_recorded_hier_config_rules_are_the_installed_drivers(update_golden: bool) -> None:
    """``engine/hier_config_rules.json`` is what the installed hier_config's drivers say (rewritten by
    ``pytest --update-golden`` after an upgrade; until then the rules are read from hier_config itself),
    and the rules the direct path reads from it are those of the engine's own drivers (``hier_driver``,
    with platform.yaml's ordering rules)."""
    import json

    document = remediate.rules_document()
    text = json.dumps(document, indent=1, sort_keys=True) + "\n"
    if update_golden:
        remediate.RULES_FILE.write_text(text, encoding="utf-8")
    assert remediate.RULES_FILE.read_text(encoding="utf-8") == text, "run pytest --update-golden"
    remediate._recorded_rules.cache_clear()
    remediate._driver_rules.cache_clear()
    platforms = ("ios", "eos", "nxos", "junos")
    assert set(remediate._recorded_rules()) == {platform_spec(p).raw["remediation"]["hier_config"] for p in platforms}
    for platform in platforms:
        assert remediate._driver_rules(platform) == remediate._rules_of(remediate.hier_driver(platform)), platform


def test_rules_recorded_for_another_hier_config_are_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rules file made from another hier_config version (or none, a broken one, one with an entry edited
    by hand) is not read: the rules come from the installed drivers."""
    import json

    recorded = remediate.RULES_FILE.read_text(encoding="utf-8")
    document = json.loads(recorded)
    document["platforms"]["CISCO_IOS"]["ordering"] = []
    for version, text in ((document["hier_config"], None), ("0.0.1", None), (None, "{"), (None, "[]")):
        stale = tmp_path / "rules.json"
        stale.write_text(text if text is not None else json.dumps({**document, "hier_config": version}))
        monkeypatch.setattr(remediate, "RULES_FILE", stale)
        remediate._recorded_rules.cache_clear()
        remediate._driver_rules.cache_clear()
        try:
            read = remediate._driver_rules("ios").ordering
            assert (read == remediate._engine_ordering("ios")) == (version == document["hier_config"])
        finally:
            remediate._recorded_rules.cache_clear()
            remediate._driver_rules.cache_clear()
    broken = json.loads(recorded)
    del broken["platforms"]["CISCO_IOS"]["negate_with"]  # the right version, an entry edited by hand
    stale.write_text(json.dumps(broken))
    remediate._recorded_rules.cache_clear()
    remediate._driver_rules.cache_clear()
    try:
        assert remediate._driver_rules("ios") == remediate._rules_of(remediate.hier_driver("ios"))
    finally:
        remediate._recorded_rules.cache_clear()
        remediate._driver_rules.cache_clear()
    monkeypatch.undo()
    assert remediate._driver_rules("ios").ordering != remediate._engine_ordering("ios")


def test_planning_fresh_devices_does_not_import_hier_config(tmp_path: Path) -> None:
    """A plan whose CLI devices all take the direct path reads the recorded rules: hier_config (and
    pydantic, which it imports) stays out of the process; a device with running state brings it in."""
    import subprocess
    import sys

    site = fabric.generate(tmp_path / "f", 30, guarantees=6)
    script = ("import sys; from pathlib import Path; from engine.compiler import compile_site; "
              "from engine.loader import load_site; from engine.plan import RunningState, make_plan; "
              "p = Path(sys.argv[1]); s = load_site(p); "
              "make_plan(s, compile_site(s), RunningState(Path(sys.argv[2]))); "
              "print('hier_config' in sys.modules, 'pydantic' in sys.modules)")
    root = str(Path(__file__).parent.parent)

    def imported(running: Path) -> str:
        return subprocess.run([sys.executable, "-c", script, str(site), str(running)], capture_output=True, text=True,
                              check=True, cwd=root).stdout.strip()

    assert imported(tmp_path / "none") == "False False"
    running = tmp_path / "running"
    running.mkdir()
    leaf = next(name for name, config in compile_site(load_site(site)).configs.items() if config.platform == "ios")
    (running / f"{leaf}.cfg").write_text("hostname x\n")
    assert imported(running) == "True True"


@pytest.mark.parametrize("lines", [
    [], [""], ["set a"], ["set a;"], ["set a {"], ["}"], ["delete a"], ["deactivate a"], [" set a"], ["set a "],
    ["set"], ["settle"], ["interfaces {", "    ge-0/0/0 {", "        unit 0;", "    }", "}"], ["set a", "", "set b"],
    ["set a b", "delete c"], ["set a {x}"], ["setx {"], ["set a\tb"],
])
def test_the_junos_preprocessor_changes_what_convert_to_set_commands_changes(lines: list[str]) -> None:
    """``_set_commands_change`` says a text is changed whenever hier_config's Junos preprocessor changes it
    (and that it is not for the ``set`` lines the engine writes)."""
    from hier_config.platforms.functions import convert_to_set_commands

    joined = "\n".join(lines)
    if convert_to_set_commands(joined) != joined:
        assert remediate._set_commands_change(lines)
    if all(line.startswith("set ") and remediate._folded(line) and not line.endswith((";", "{", "}")) for line in lines):
        assert not remediate._set_commands_change(lines)


def test_the_junos_preprocessor_is_the_one_the_direct_path_knows(corpus_calls: list[Call]) -> None:
    """The Junos driver's own preprocessor is the one ``_PREPROCESSORS`` knows, and on every fresh Junos
    config of the corpus both say the same."""
    from hier_config.platforms.functions import convert_to_set_commands

    assert remediate._driver_rules("junos").preprocessor in remediate._PREPROCESSORS
    compared = 0
    for platform, running, merged, _ in corpus_calls:
        if platform != "junos":
            continue
        for nodes in (running, merged):
            lines = [line for node in nodes for line in node.lines(0, "set", trivia=False)]
            joined = "\n".join(lines)
            assert remediate._set_commands_change(lines) == (convert_to_set_commands(joined) != joined)
            compared += 1
    assert compared >= 10


def test_lines_a_substitution_changes_are_found_as_line_by_line(corpus_calls: list[Call]) -> None:
    """``_lines_substituted`` (anchored patterns line by line, the others once over the joined lines) says
    what searching every line with the one joined pattern says, on every config the corpus plans and on
    lines the rules single out (NX-OS reads nothing after a ``!``)."""
    lists: list[tuple[str, list[str]]] = []
    for platform, running, merged, _ in corpus_calls:
        syntax = platform_spec(platform).syntax
        assert syntax is not None
        if syntax.style != "set":
            lists += [(platform, remediate.content(nodes, syntax).splitlines()) for nodes in (running, merged)]
    lists += [(platform, lines) for platform in ("ios", "eos", "nxos") for lines in (
        ["interface Ethernet1/1", " description a!b"], ["version 9.3"], ["boot system flash:x"], ["end"],
        ["interface Ethernet1", " logging event link-status"], ["hostname x", "! comment"], [])]
    found = 0
    for platform, lines in lists:
        reader = remediate._plain_reader(platform)
        assert reader is not None and reader.substituted is not None
        search = remediate._line_sub_search(remediate._driver_rules(platform).per_line_sub)
        assert search is not None
        expected = any(search(line) for line in lines)
        assert reader.substituted(lines) == expected, (platform, lines)
        found += expected
    assert found >= 10


def test_a_linux_device_with_nothing_running_has_nothing_in_scope(tmp_path: Path) -> None:
    """make_plan diffs a Linux device whose running document is empty against nothing, without working
    out its scope: nothing of it is in scope and no qdisc of it is replaced."""
    from engine import linux

    sites = [case for case in sorted(GOLDEN.glob("*/*/site.yaml"))] + [fabric.generate(tmp_path / "f", 30, guarantees=6)]
    checked = 0
    for site_file in sites:
        for config in compile_site(load_site(site_file)).configs.values():
            if config.document is not None:
                assert linux.lines(linux.in_scope({}, config.document)) == []
                assert linux.foreign_replaced({}, config.document) == []
                checked += 1
    assert checked >= 10


def test_diffs_and_commands_told_unchanged_are_what_masking_them_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                       ) -> None:
    """_device_plan shows a fresh device's diff and commands without masking them again where they are lines
    of its config and that holds nothing to mask (SecretMasker.unchanged): every plan of the golden sites
    and a fabric is the plan masking every text in full gives."""
    from engine.secrets import SecretMasker

    sites = [case for case in sorted(GOLDEN.glob("*/*/site.yaml"))] + [fabric.generate(tmp_path / "f", 30, guarantees=6)]
    plans = []
    for told in (True, False):
        if not told:
            monkeypatch.setattr(SecretMasker, "unchanged", lambda *args, **kwargs: False)
            monkeypatch.setattr(SecretMasker, "plain", lambda *args, **kwargs: False)
        found = []
        for case in sites:
            site = load_site(case)
            try:
                found.append(make_plan(site, compile_site(site), RunningState(case.parent / "running")).as_dict())
            except ValidationError as exc:
                found.append({"refused": str(exc)})
        plans.append(found)
    assert plans[0] == plans[1]
    assert sum(len(plan.get("devices", ())) for plan in plans[0]) >= 40
