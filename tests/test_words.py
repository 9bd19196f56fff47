"""Intents in words: each sentence gives exactly the intent written next to it, or is refused naming the word.

The expected intents are written by hand, as an engineer would write them in a site file.
"""

from __future__ import annotations

import functools
from typing import Any

import lark
import pytest

from engine.words import LANGUAGES, KindPhrases, SentenceError, build_parser, builtin, read, source


def qg(name: str, a: int, b: int, rate: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "qos_guarantee": {"between": [{"vlan": a}, {"vlan": b}], "rate": rate, **more}}


def cap(name: str, vlan: int, rate: str) -> dict[str, Any]:
    return {"name": name, "qos_limit": {"vlan": vlan, "rate": rate}}


def vlan(intent_name: str, /, **body: Any) -> dict[str, Any]:
    return {"name": intent_name, "vlan": body}


ENGLISH = [
    ("guarantee 100Mbps for video between VLAN 10 and 20", qg("video-10-20", 10, 20, "100Mbps")),
    ("guarantee 250 Mbps between vlan 10 and vlan 40", qg("guarantee-10-40", 10, 40, "250Mbps")),
    ("reserve 50 Mb/s between VLANs 20 and 40 for voice with strict priority",
     qg("voice-20-40", 20, 40, "50Mbps", priority=True)),
    ("ensure 1 Gbps between the VLANs 10 and 20", qg("guarantee-10-20", 10, 20, "1Gbps")),
    ("guarantee 2 Gb/s between VLAN 10 and 20 borrowing up to 5 Gb/s", qg("guarantee-10-20", 10, 20, "2Gbps", ceil="5Gbps")),
    ("guarantee 500 kbps between vlan 10 and 30 over udp ports 5004-5010",
     qg("guarantee-10-30", 10, 30, "500Kbps", match={"protocol": "udp", "ports": "5004-5010"})),
    ("guarantee 10% between vlan 10 and 20", qg("guarantee-10-20", 10, 20, "10%")),
    ("guarantee 15 % between vlan 10 and 20 with a ceiling of 40 %", qg("guarantee-10-20", 10, 20, "15%", ceil="40%")),
    ("guarantee video traffic 300 Mbit/s between vlan 10 and 20 dscp af41",
     qg("video-10-20", 10, 20, "300Mbps", match={"dscp": "af41"})),
    ("guarantee the voice 20Mbps between VLAN 10 and 40 marked ef in strict priority with a pfifo queue",
     qg("voice-10-40", 10, 40, "20Mbps", priority=True, match={"dscp": "ef"}, queue="pfifo")),
    ("reserve at least 75 Mbps between vlan 10 and 20 using sfq leaf queue",
     qg("guarantee-10-20", 10, 20, "75Mbps", queue="sfq")),
    ("guarantee QoS for the video traffic between vlan 10 and 20 with a minimum bandwidth of 120 Mbps",
     qg("video-10-20", 10, 20, "120Mbps")),
    ("guarantee a guaranteed rate of 40Mbps between vlan 20 and 30 and tcp port 443",
     qg("guarantee-20-30", 20, 30, "40Mbps", match={"protocol": "tcp", "ports": 443})),
    ("guarantee 60 Mbps between vlan 10 and 20 with dscp 34", qg("guarantee-10-20", 10, 20, "60Mbps", match={"dscp": 34})),
    ("guarantee 80Mbps between vlan 10 and 20 protocol sctp ports 3868 to 3870",
     qg("guarantee-10-20", 10, 20, "80Mbps", match={"protocol": "sctp", "ports": "3868-3870"})),
    ("guarantee 1.5 Gbps between vlan 10 and 20 at most 3 Gbps", qg("guarantee-10-20", 10, 20, "1.5Gbps", ceil="3Gbps")),
    ("guarantee 30 percent between vlan 10 and 20 with low latency", qg("guarantee-10-20", 10, 20, "30%", priority=True)),
    ("reserve bandwidth of 90Mbps between vlan 10 and 20 with queue fq_codel",
     qg("guarantee-10-20", 10, 20, "90Mbps", queue="fq_codel")),
    ("guarantee 45 Mbps between vlan 10 and 20 for backup over tcp ports 9000 through 9100, max 200 Mbps",
     qg("backup-10-20", 10, 20, "45Mbps", ceil="200Mbps", match={"protocol": "tcp", "ports": "9000-9100"})),
    ("GUARANTEE 100MBPS BETWEEN VLAN 10 AND 20.", qg("guarantee-10-20", 10, 20, "100Mbps")),
    ("guarantee 100 Mbps between vlan 10 and 20 protocol 47", qg("guarantee-10-20", 10, 20, "100Mbps", match={"protocol": 47})),
    ("cap vlan 30 at 20Mbps", cap("cap-vlan30", 30, "20Mbps")),
    ("limit the guest vlan 30 to 5 Mb/s", cap("cap-guest-vlan30", 30, "5Mbps")),
    ("throttle the traffic of vlan 40 to at most 1 Gbps", cap("cap-vlan40", 40, "1Gbps")),
    ("police vlan 50 at 750 kbit/s", cap("cap-vlan50", 50, "750Kbps")),
    ("limit vlan 30 to 8 Mbps for guests", cap("cap-guests-vlan30", 30, "8Mbps")),
    ("limit guests on vlan 30 to 2 Mbps", cap("cap-guests-vlan30", 30, "2Mbps")),
    ("create vlan 50 named printers with subnet 10.50.0.0/24, gateway core1 and access ports acc1:eth5, "
     "sw1:GigabitEthernet1/0/12",
     vlan("printers", id=50, name="printers", subnet="10.50.0.0/24", gateway="core1",
          access=["acc1:eth5", "sw1:GigabitEthernet1/0/12"])),
    ("add the cameras vlan 60 on 10.60.0.0/24 routed by core1 with hosts on acc2:eth4 and acc2:eth5",
     vlan("cameras", id=60, name="cameras", subnet="10.60.0.0/24", gateway="core1", access=["acc2:eth4", "acc2:eth5"])),
    ("define vlan 70 with prefix 10.70.0.0/16 via dc1", vlan("vlan70", id=70, subnet="10.70.0.0/16", gateway="dc1")),
    ("create a vlan 80 called lab-net gateway core1 subnet 10.80.0.0/24 access port acc1:eth6",
     vlan("lab-net", id=80, name="lab-net", subnet="10.80.0.0/24", gateway="core1", access=["acc1:eth6"])),
    ("create vlan 30 for guests with subnet 10.30.0.0/24 gateway core1",
     vlan("guests", id=30, name="guests", subnet="10.30.0.0/24", gateway="core1")),
]

FRENCH = [
    ("garantir 100 Mb/s entre le VLAN 10 et le VLAN 20", qg("guarantee-10-20", 10, 20, "100Mbps")),
    ("garantir la vidéo 200 Mbps entre les VLAN 10 et 20", qg("video-10-20", 10, 20, "200Mbps")),
    ("garantir 150 Mbps à la vidéo entre le VLAN 10 et le VLAN 20", qg("video-10-20", 10, 20, "150Mbps")),
    ("réserver 50 Mbit/s pour la voix entre VLAN 10 et VLAN 40 en priorité stricte",
     qg("voix-10-40", 10, 40, "50Mbps", priority=True)),
    ("reserver 50 Mbit/s pour la voix entre VLAN 10 et VLAN 40 en priorite stricte",
     qg("voix-10-40", 10, 40, "50Mbps", priority=True)),
    ("assurer 1 Gb/s entre les VLANs 10 et 20 avec un plafond de 2 Gb/s", qg("guarantee-10-20", 10, 20, "1Gbps", ceil="2Gbps")),
    ("garantir 1,5 Gbps entre le VLAN 10 et 20", qg("guarantee-10-20", 10, 20, "1.5Gbps")),
    ("garantir 10 % entre VLAN 10 et 20 jusqu'à 50 %", qg("guarantee-10-20", 10, 20, "10%", ceil="50%")),
    ("garantir au moins 30 Mbps entre VLAN 10 et 30 en udp ports 5004-5010",
     qg("guarantee-10-30", 10, 30, "30Mbps", match={"protocol": "udp", "ports": "5004-5010"})),
    ("garantir 25 Mb/s entre VLAN 10 et 20 protocole tcp ports de 8000 à 8080",
     qg("guarantee-10-20", 10, 20, "25Mbps", match={"protocol": "tcp", "ports": "8000-8080"})),
    ("garantir la QoS voix entre VLAN 10 et 40 avec un débit garanti de 20 Mbps marqué ef",
     qg("voix-10-40", 10, 40, "20Mbps", match={"dscp": "ef"})),
    ("garantir 40 Mbps entre VLAN 10 et 20 avec dscp af31 et file d'attente sfq",
     qg("guarantee-10-20", 10, 20, "40Mbps", match={"dscp": "af31"}, queue="sfq")),
    ("garantir une bande passante minimale de 80 Mbps entre VLAN 10 et 20", qg("guarantee-10-20", 10, 20, "80Mbps")),
    ("garantir 60 Mbps entre VLAN 10 et 20 pouvant emprunter jusqu'à 300 Mbps",
     qg("guarantee-10-20", 10, 20, "60Mbps", ceil="300Mbps")),
    ("garantir 5 Mbps pour le trafic sauvegarde entre VLAN 20 et 40 au plus 10 Mbps",
     qg("sauvegarde-20-40", 20, 40, "5Mbps", ceil="10Mbps")),
    ("garantir 15 pour cent entre VLAN 10 et 20", qg("guarantee-10-20", 10, 20, "15%")),
    ("garantir 100 Mbps entre VLAN 10 et 20 à faible latence avec la file pfifo",
     qg("guarantee-10-20", 10, 20, "100Mbps", priority=True, queue="pfifo")),
    ("garantir 70 Mbps entre VLAN 10 et 20 marquage dscp 46 sur udp port 5060",
     qg("guarantee-10-20", 10, 20, "70Mbps", match={"dscp": 46, "protocol": "udp", "ports": 5060})),
    ("Garantir 500 kbps entre VLAN 10 et 20 plafond 1 Mbps", qg("guarantee-10-20", 10, 20, "500Kbps", ceil="1Mbps")),
    ("garantir 45 Mbps entre VLAN 10 et 20 en empruntant jusqu’à 90 Mbps",
     qg("guarantee-10-20", 10, 20, "45Mbps", ceil="90Mbps")),
    ("GARANTIR 100 MBPS ENTRE VLAN 10 ET 20 EN PRIORITÉ STRICTE.", qg("guarantee-10-20", 10, 20, "100Mbps", priority=True)),
    ("garantir 100 Mbps entre VLAN 10 et 20 protocole 47", qg("guarantee-10-20", 10, 20, "100Mbps", match={"protocol": 47})),
    ("limiter le VLAN 30 à 20 Mb/s", cap("cap-vlan30", 30, "20Mbps")),
    ("limiter le VLAN 30 des invités à 5 Mbps", cap("cap-invites-vlan30", 30, "5Mbps")),
    ("plafonner le trafic du VLAN 40 à 1 Gb/s", cap("cap-vlan40", 40, "1Gbps")),
    ("brider le vlan 50 à au plus 750 kbps", cap("cap-vlan50", 50, "750Kbps")),
    ("limiter les invités du VLAN 30 à 8 Mbps", cap("cap-invites-vlan30", 30, "8Mbps")),
    ("limiter le débit du VLAN 30 à 12 Mbit/s pour les invités", cap("cap-invites-vlan30", 30, "12Mbps")),
    ("créer le VLAN 50 nommé imprimantes, sous-réseau 10.50.0.0/24, passerelle core1, ports d'accès acc1:eth5 et "
     "sw1:GigabitEthernet1/0/12",
     vlan("imprimantes", id=50, name="imprimantes", subnet="10.50.0.0/24", gateway="core1",
          access=["acc1:eth5", "sw1:GigabitEthernet1/0/12"])),
    ("ajouter le VLAN 60 des caméras en 10.60.0.0/24 routé par core1 sur les ports acc2:eth4 et acc2:eth5",
     vlan("cameras", id=60, name="cameras", subnet="10.60.0.0/24", gateway="core1", access=["acc2:eth4", "acc2:eth5"])),
    ("définir le VLAN 70 avec le réseau 10.70.0.0/16 et la passerelle dc1",
     vlan("vlan70", id=70, subnet="10.70.0.0/16", gateway="dc1")),
    ("créer un VLAN 80 appelé labo, passerelle core1, sous réseau 10.80.0.0/24, accès acc1:eth6",
     vlan("labo", id=80, name="labo", subnet="10.80.0.0/24", gateway="core1", access=["acc1:eth6"])),
]

# (sentence, the word the error must quote, as written)
REFUSED = [
    ("guarantee 100Mbps quickly between vlan 10 and 20", "quickly"),
    ("guarantee 100 MB/s between vlan 10 and 20", "MB/s"),
    ("guarantee 100Mbps between vlan 10 and 5000", "5000"),
    ("guarantee high quality video 100Mbps between vlan 10 and 20", "quality"),
    ("cap vlan 30 at 10%", "%"),
    ("guarantee 100Mbps between vlan 10 and 20 dscp 64", "dscp 64"),
    ("guarantee 100Mbps between vlan 10 and 20 dscp af44", "af44"),
    ("guarantee 100Mbps between vlan 10 and 20 over ftp", "ftp"),
    ("guarantee 100Mbps between vlan 10 and 20 with strict priority borrowing up to 200Mbps", "borrowing up to 200Mbps"),
    ("guarantee 100Mbps between vlan 10 and 10", "10"),
    ("guarantee 100Mbps between vlan 10 and 20 ports 80", "ports 80"),
    ("frobnicate vlan 10", "frobnicate"),
    ("guarantee 0 Mbps between vlan 10 and 20", "0 Mbps"),
    ("guarantee 100Mbps between vlan 10 and 20 queue codel", "codel"),
    ("limit vlan 30 to 20Mbps please", "please"),
    ("guarantee 100Mbps between vlan 10 and 20 for video for voice", "for voice"),
    ("create the guest vlan 30 named visitors subnet 10.30.0.0/24 gateway core1", "named visitors"),
    ("create vlan 50 subnet 10.50.0.0/24 gateway core1 access ports acc1:eth5 and acc1:eth5", "acc1:eth5"),
    ("garantir 100 Mbps rapidement entre VLAN 10 et 20", "rapidement"),
    ("garantir 100 Mo/s entre VLAN 10 et 20", "Mo/s"),
    ("limiter le VLAN 30 à 20 Mbps s'il vous plaît", "s'il"),
    ("garantir 100 Mbps entre VLAN 10 et 20 en priorité absolue", "absolue"),
    ("créer le VLAN 5000 nommé grand sous-réseau 10.50.0.0/24 passerelle core1", "5000"),
    ("garantir 100 Mbps entre VLAN 10 et 20 dscp ef dscp af41", "dscp af41"),
    ("garantir la très haute vidéo 100 Mbps entre VLAN 10 et 20", "haute"),
    ("garantir 100 Mbps entre VLAN 10 et 20 très vite", "très"),
    ("plafonner le VLAN 30 à 20 Mbps pour les invités du wifi", "du"),
]


def test_the_table_is_as_large_as_promised() -> None:
    assert len(ENGLISH) >= 30 and len(FRENCH) >= 30 and len(REFUSED) >= 20
    sentences = [s for s, _ in ENGLISH + FRENCH] + [s for s, _ in REFUSED]
    assert len(set(sentences)) == len(sentences)
    issue_example = "Garantir QoS vidéo entre VLAN 10 et 20 avec bande passante minimale 100Mbps"
    assert issue_example not in sentences


@pytest.mark.parametrize(("sentence", "intent"), ENGLISH, ids=[s for s, _ in ENGLISH])
def test_english(sentence: str, intent: dict[str, Any]) -> None:
    reading = read(sentence)
    assert reading.language == "en"
    assert reading.intent() == intent


@pytest.mark.parametrize(("sentence", "intent"), FRENCH, ids=[s for s, _ in FRENCH])
def test_french(sentence: str, intent: dict[str, Any]) -> None:
    reading = read(sentence)
    assert reading.language == "fr"
    assert reading.intent() == intent


@pytest.mark.parametrize(("sentence", "word"), REFUSED, ids=[s for s, _ in REFUSED])
def test_refused_naming_the_word(sentence: str, word: str) -> None:
    with pytest.raises(SentenceError) as caught:
        read(sentence)
    error = caught.value
    assert error.word == word
    assert f"{word!r}" in str(error)
    column = int(str(error).split(":")[2])
    assert sentence[column - 1:].startswith(word)


def test_refusal_says_what_was_expected() -> None:
    with pytest.raises(SentenceError) as caught:
        read("cap vlan 30 at 10%")
    assert "expected a unit (bps, Kbps, Mbps, Gbps, Mb/s, Mbit/s)" in str(caught.value)
    with pytest.raises(SentenceError) as caught:
        read("guarantee 100Mbps between vlan 10 and")
    assert "the sentence ends too early; expected 'the', 'vlan', 'vlans' or a VLAN number" in str(caught.value)
    with pytest.raises(SentenceError) as caught:
        read("frobnicate vlan 10")
    message = str(caught.value)
    assert "in English: 'add', 'block', 'cap', 'create'" in message and "in French: 'ajouter', 'assurer'" in message


@pytest.mark.parametrize(("sentence", "missing"), [
    ("guarantee 100Mbps", "between which VLANs"),
    ("guarantee between vlan 10 and 20 for video", "the guaranteed rate"),
    ("create vlan 50 named printers gateway core1", "the subnet"),
    ("créer le VLAN 50 sous-réseau 10.50.0.0/24", "the gateway"),
    ("", "the sentence is empty"),
])
def test_what_is_missing_is_named(sentence: str, missing: str) -> None:
    with pytest.raises(SentenceError, match=missing):
        read(sentence)


def test_every_rate_form_of_the_issue() -> None:
    forms = {"100Mbps": "100Mbps", "100 Mbps": "100Mbps", "100 Mb/s": "100Mbps", "100 Mbit/s": "100Mbps",
             "1 Gbps": "1Gbps", "2 Gb/s": "2Gbps", "500 kbps": "500Kbps", "10%": "10%", "10 %": "10%"}
    for written, canonical in forms.items():
        assert read(f"guarantee {written} between vlan 10 and 20").body["rate"] == canonical
        assert read(f"garantir {written} entre VLAN 10 et 20").body["rate"] == canonical


def test_every_vlan_form_of_the_issue() -> None:
    for phrase in ("VLAN 10 and 20", "vlan 10 and 20", "VLANs 10 and 20", "vlan 10 and vlan 20", "the VLANs 10 and 20"):
        assert read(f"guarantee 1Gbps between {phrase}").body["between"] == [{"vlan": 10}, {"vlan": 20}]
    for phrase in ("le VLAN 10 et 20", "les VLAN 10 et 20", "VLAN 10 et le VLAN 20", "les VLANs 10 et 20"):
        assert read(f"garantir 1Gbps entre {phrase}").body["between"] == [{"vlan": 10}, {"vlan": 20}]


def test_accents_are_optional_and_errors_quote_what_was_written() -> None:
    assert read("réserver 1Gbps entre VLAN 10 et 20 en priorité stricte") == \
        read("reserver 1Gbps entre VLAN 10 et 20 en priorite stricte")
    decomposed = "re\u0301server 1Gbps entre VLAN 10 et 20 tre\u0300s"  # combining accents, as some keyboards send
    with pytest.raises(SentenceError) as caught:
        read(decomposed)
    assert caught.value.word == "très"


def test_grammars_load_in_strict_mode_so_an_ambiguous_phrase_is_refused() -> None:
    """Strict LALR: a kind whose phrases could read a sentence two ways does not even build."""
    ambiguous = KindPhrases("echo", lambda said: ({}, "echo"), extra_rules="")
    object.__setattr__(ambiguous, "grammar", lambda language: 'echo: "echo"i (echo_a | echo_b)\necho_a: WORD\necho_b: WORD\n')
    with pytest.raises(lark.exceptions.GrammarError):
        build_parser("en", {**builtin(), "echo": ambiguous})


def test_a_new_kind_plugs_in_with_its_phrases() -> None:
    """The mechanism later kinds use: a key, grammar fragments per language, and a build."""

    class Echo:
        key = "echo"

        def grammar(self, language: str) -> str:
            verb = {"en": "echo", "fr": "repeter"}[language]
            return f'echo: "{verb}"i "vlan"i VLAN_ID\n'

        def build(self, said: Any) -> tuple[dict[str, Any], str]:
            number = said.need("vlan", "which VLAN").value
            return {"vlan": number}, f"echo-{number}"

    table = {**builtin(), "echo": Echo()}
    assert read("echo vlan 7", table=table).intent() == {"name": "echo-7", "echo": {"vlan": 7}}
    assert read("répéter VLAN 8", table=table).intent() == {"name": "echo-8", "echo": {"vlan": 8}}
    assert read("cap vlan 30 at 20Mbps", table=table).kind == "qos_limit"
    with pytest.raises(SentenceError):
        read("echo vlan 7")  # not registered: the default grammars do not know it


def test_names_are_unique_in_a_site() -> None:
    reading = read("guarantee 100Mbps for video between VLAN 10 and 20")
    assert reading.unique_name({"users"}) == "video-10-20"
    assert reading.unique_name({"video-10-20"}) == "video-10-20-2"
    assert reading.unique_name({"video-10-20", "video-10-20-2"}) == "video-10-20-3"


def test_each_language_has_one_readable_grammar() -> None:
    for language in LANGUAGES:
        text = source(language)
        assert "start: (" in text and "qos_guarantee:" in text and "vlan:" in text and "qos_limit:" in text


# Kinds added after the first three (isolate, qos_share) bring their phrases the same way; these are read
# with an explicit table, so they are tested whether or not the kind's module is in this checkout yet.
@functools.cache
def _later() -> dict[str, Any]:
    from engine.words import isolate, qos_share

    return {**builtin(), "isolate": isolate.PHRASES, "qos_share": qos_share.PHRASES}


def iso(name: str, a: int, b: int, *allow: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"between": [{"vlan": a}, {"vlan": b}]}
    if allow:
        body["allow"] = list(allow)
    return {"name": name, "isolate": body}


def share(name: str, *weights: tuple[int, int]) -> dict[str, Any]:
    return {"name": name, "qos_share": {"weights": [{"vlan": v, "weight": w} for v, w in weights]}}


LATER = [
    ("isolate the guest vlan 30 from vlan 10 except udp port 53 and tcp ports 80-443",
     iso("isolate-guest-30-10", 30, 10, {"protocol": "udp", "ports": 53}, {"protocol": "tcp", "ports": "80-443"})),
    ("block all traffic between vlan 30 and vlan 40", iso("isolate-30-40", 30, 40)),
    ("separate vlan 30 and vlan 20 allowing icmp", iso("isolate-30-20", 30, 20, {"protocol": "icmp"})),
    ("share the leftover bandwidth between vlan 20 and vlan 30 at 3:1", share("share-20-30", (20, 3), (30, 1))),
    ("share bandwidth vlan 20 weight 3, vlan 30 weight 1 and vlan 40 weight 2 for office",
     share("office-share-20-30-40", (20, 3), (30, 1), (40, 2))),
    ("isoler le VLAN 30 des invités du VLAN 10 sauf udp port 53", iso("isolate-invites-30-10", 30, 10,
                                                                      {"protocol": "udp", "ports": 53})),
    ("bloquer le trafic entre le VLAN 30 et le VLAN 10 hormis tcp ports de 8000 à 8010",
     iso("isolate-30-10", 30, 10, {"protocol": "tcp", "ports": "8000-8010"})),
    ("partager la bande passante restante entre le VLAN 20 et le VLAN 30 à 3:1", share("share-20-30", (20, 3), (30, 1))),
    ("répartir le débit disponible avec les poids VLAN 20 poids 3 et VLAN 30 poids 1", share("share-20-30", (20, 3), (30, 1))),
]


@pytest.mark.parametrize(("sentence", "intent"), LATER, ids=[s for s, _ in LATER])
def test_later_kinds_plug_in_their_phrases(sentence: str, intent: dict[str, Any]) -> None:
    assert read(sentence, table=_later()).intent() == intent


@pytest.mark.parametrize(("sentence", "word"), [
    ("share the leftover bandwidth between vlan 20 and vlan 30 at 3:1:2", "3:1:2"),
    ("isolate vlan 30 from vlan 10 except icmp port 5", "icmp port 5"),
    ("isolate vlan 30 from vlan 30", "30"),
    ("share bandwidth vlan 20 weight 300 and vlan 30 weight 1", "vlan 20 weight 300"),
    ("isoler le VLAN 30 du VLAN 10 sauf ftp", "ftp"),
])
def test_later_kinds_refuse_naming_the_word(sentence: str, word: str) -> None:
    with pytest.raises(SentenceError) as caught:
        read(sentence, table=_later())
    assert caught.value.word == word


def test_later_kinds_are_read_by_default_exactly_when_the_engine_has_them() -> None:
    import jsonschema

    from intents.registry import BUILTIN

    for sentence, intent in LATER:
        kind = next(key for key in intent if key != "name")
        if kind in BUILTIN:
            reading = read(sentence)
            assert reading.intent() == intent
            jsonschema.validate(reading.body, BUILTIN[kind].schema)
        else:  # no kind, no phrases: the grammar refuses the verb rather than produce an intent nobody compiles
            with pytest.raises(SentenceError):
                read(sentence)


@pytest.mark.parametrize("sentence", ["guarantee " + "x " * 600, "guarantee 100Mbps\x00 between vlan 10 and 20",
                                      "guarantee 100Mbps between vlan 10 and 20 \u2603", "\ufeff", "\u202e"])
def test_hostile_sentences_are_refused_not_crashed_on(sentence: str) -> None:
    with pytest.raises(SentenceError):
        read(sentence)


def test_every_intent_of_the_table_is_valid_for_its_kind(tmp_path: Any) -> None:
    """What the grammars produce is what the engine accepts: each body against its kind's JSON Schema, and
    every guarantee and cap loaded and compiled by the engine into a site that has their VLANs."""
    import jsonschema

    import intent_engine
    from intents.registry import BUILTIN

    (tmp_path / "inventory.yaml").write_text("all:\n  vars: {platform: linux}\n  hosts:\n"
                                             + "".join(f"    {d}: {{netns: {d}}}\n" for d in ("core1", "acc1", "acc2")))
    (tmp_path / "topology.yaml").write_text("links:\n  - {a: core1:eth1, b: acc1:eth0, bandwidth: 100Gbps}\n"
                                            "  - {a: core1:eth2, b: acc2:eth0, bandwidth: 100Gbps}\n")
    vlans = "".join(f"  - name: v{v}\n    vlan: {{id: {v}, subnet: 10.{v}.0.0/24, gateway: core1, access: [acc{1 + v % 20 // 10}:eth{v}]}}\n"
                    for v in (10, 20, 30, 40, 50))
    site = tmp_path / "site.yaml"
    site.write_text(f"site: words\ninventory: inventory.yaml\ntopology: topology.yaml\nintents:\n{vlans}")
    loaded = 0
    for sentence, intent in ENGLISH + FRENCH:
        kind = next(key for key in intent if key != "name")
        jsonschema.validate(intent[kind], BUILTIN[kind].schema)
        if kind != "vlan":
            assert intent_engine.parse(sentence, site=site)[kind] == intent[kind]
            loaded += 1
    assert loaded >= 45
