"""The content-addressed archive: bit-perfect round trips, deduplication, corruption found, crash-safe."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from engine.archive import Archive, ArchiveError, chunks
from tests.conftest import run_intent

BOILERPLATE = "".join(f"ntp server 192.0.2.{n}\nlogging host 198.51.100.{n}\n" for n in range(1, 40))


def device_config(number: int, version: int = 0) -> str:
    """A plausible switch config: shared boilerplate, per-device identity and ports, some churn."""
    rng = random.Random(number * 1000 + version)
    ports = "".join(f"interface GigabitEthernet1/0/{p}\n description desk {number}-{p}\n switchport access vlan "
                    f"{rng.choice([10, 20, 30])}\n switchport mode access\n!\n" for p in range(1, 25))
    return f"hostname sw{number:04d}\n!\n{BOILERPLATE}!\n{ports}ip route 0.0.0.0 0.0.0.0 192.0.2.254\nend\n"


def test_a_thousand_configs_round_trip_bit_perfect_and_deduplicate(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "archive")
    stored = {}
    for number in range(1000):
        for version in (0, 1):  # before and after an apply
            text = device_config(number, version) if version == 0 else device_config(number) + "vlan 40\n"
            stored[archive.put(text)] = text
    for snapshot, text in stored.items():
        assert archive.get(snapshot) == text
        assert hashlib.sha256(text.encode()).hexdigest() == snapshot
    stats = archive.stats()
    print(f"\n1,000 devices x 2 snapshots: logical {stats.logical_bytes} bytes, stored {stats.stored_bytes} bytes, "
          f"{stats.chunks} chunks, dedup ratio {stats.dedup_ratio:.1f}x")
    assert stats.snapshots == 2000 and stats.dedup_ratio > 3
    assert archive.verify() == []


def test_identical_content_is_stored_once(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    first = archive.put(device_config(1))
    size = archive.stats().stored_bytes
    assert archive.put(device_config(1)) == first and archive.stats().stored_bytes == size


def test_an_insertion_moves_only_nearby_chunk_boundaries() -> None:
    base = device_config(7).encode()
    edited = base.replace(b"ntp server 192.0.2.20\n", b"ntp server 192.0.2.20\nntp server 203.0.113.5\n")
    before, after = set(chunks(base)), set(chunks(edited))
    assert len(before & after) >= len(before) - 2  # content-defined: the rest still matches


def test_archive_verify_finds_a_truncated_chunk(tmp_path: Path) -> None:
    state = tmp_path / "state"
    archive = Archive(state / "archive")
    snapshot = archive.put(device_config(3))
    victim = sorted((state / "archive" / "chunks").glob("*/*"))[0]
    victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2])
    result = run_intent("archive", "verify", "--state-dir", str(state))
    assert result.returncode == 1
    assert f"chunk {victim.name[:12]} is corrupt" in result.stderr and "1 problem(s)" in result.stderr
    with pytest.raises(ArchiveError, match="corrupt"):
        archive.get(snapshot)
    stats = run_intent("archive", "stats", "--state-dir", str(state))
    assert "1 snapshots" in stats.stdout and "dedup ratio" in stats.stdout


def test_a_chunk_whose_content_changed_is_caught_by_its_hash(tmp_path: Path) -> None:
    import zlib

    archive = Archive(tmp_path)
    snapshot = archive.put(device_config(4))
    victim = sorted((tmp_path / "chunks").glob("*/*"))[1]
    victim.write_bytes(zlib.compress(b"hostname evil\n"))
    with pytest.raises(ArchiveError, match="does not hash to its name"):
        archive.get(snapshot)
    assert any("does not hash" in problem for problem in archive.verify())


def test_a_crash_before_the_manifest_leaves_no_snapshot_that_looks_whole(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.archive as module

    archive = Archive(tmp_path)
    real = module._write_atomic

    def crash_on_manifest(path: Path, data: bytes) -> None:
        if "snapshots" in path.parts:
            raise OSError("power cut")
        real(path, data)

    monkeypatch.setattr(module, "_write_atomic", crash_on_manifest)
    with pytest.raises(OSError):
        archive.put(device_config(5))
    monkeypatch.setattr(module, "_write_atomic", real)
    assert archive.stats().snapshots == 0  # chunks may be there; no snapshot claims to be whole
    snapshot = hashlib.sha256(device_config(5).encode()).hexdigest()
    with pytest.raises(ArchiveError, match="no snapshot"):
        archive.get(snapshot)
    assert archive.put(device_config(5)) == snapshot and archive.get(snapshot) == device_config(5)
    assert not list(tmp_path.rglob("*.tmp"))


def test_show_prints_a_snapshot_masked(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "archive")
    snapshot = archive.put("hostname sw1\nsnmp-server community s3cretCommunity RO\n")
    result = run_intent("show", snapshot[:8], "--state-dir", str(tmp_path))
    assert result.returncode == 0
    assert result.stdout == "hostname sw1\nsnmp-server community <masked> RO\n"
    assert "at least 6 hex digits" in run_intent("show", "abc", "--state-dir", str(tmp_path)).stderr


def test_chunks_are_content_defined_and_about_a_kilobyte() -> None:
    from engine.archive import _GEAR, MAX_CHUNK, MIN_CHUNK

    assert len(set(_GEAR)) == 256  # a gear table of equal values would make boundaries ignore the content
    sizes = []
    for number in range(50):
        pieces = [len(piece) for piece in chunks(device_config(number).encode())]
        assert min(pieces[:-1]) >= MIN_CHUNK and max(pieces) < MAX_CHUNK  # only the tail is short; none hit the cap
        sizes += pieces
    assert 500 < sum(sizes) / len(sizes) < 2500


def test_parallel_writers_of_the_same_content_do_not_collide(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    archive = Archive(tmp_path)
    with ThreadPoolExecutor(max_workers=8) as pool:  # devices are snapshotted in parallel; many share chunks
        ids = list(pool.map(lambda n: archive.put(device_config(n % 3)), range(64)))
    assert len(set(ids)) == 3 and archive.verify() == []
