"""A content-addressed archive of device configurations: identical content is stored once.

A snapshot is cut into content-defined chunks (a gear rolling hash, as in FastCDC: boundaries
depend on the bytes, so an insertion moves only nearby boundaries and the rest still dedupes),
each stored zlib-compressed under the SHA-256 of its raw bytes. A manifest lists the chunks; the
snapshot's id is the SHA-256 of its whole content, so ``get(id)`` can prove it is bit-for-bit what
was stored. Every file is written to a temporary name, fsynced and renamed, and the manifest
last: a crash can leave unreferenced chunks, never a snapshot that looks whole but is not.

    <root>/chunks/ab/abcdef...      compressed chunk, named by the SHA-256 of its content
    <root>/snapshots/12/1234...     manifest: {"size": N, "chunks": ["abcdef...", ...]}
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import secrets
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from engine.errors import IntentError
from engine.frozen import frozen

_HEX64 = re.compile(r"[0-9a-f]{64}")
MIN_CHUNK, AVERAGE_BITS, MAX_CHUNK = 256, 10, 8192  # ~1 KiB chunks suit configuration files
_MASK = (1 << AVERAGE_BITS) - 1
_RANDOM = random.Random(20261121)  # fixed seed: the chunking of stored snapshots must never change
_GEAR = [_RANDOM.getrandbits(64) for _ in range(256)]
_U64 = (1 << 64) - 1


class ArchiveError(IntentError):
    """A snapshot or chunk is missing or corrupt."""


def chunks(data: bytes) -> list[bytes]:
    """Content-defined chunks of ``data`` (deterministic)."""
    result, start, fingerprint = [], 0, 0
    for position, byte in enumerate(data):
        fingerprint = ((fingerprint << 1) + _GEAR[byte]) & _U64
        length = position - start + 1
        # High bits: after n shifts, bit k depends on the last k+1 bytes, so bits 50..59 see a ~60-byte
        # window; low bits would see only the last few bytes, which repeat in configuration text.
        if (length >= MIN_CHUNK and ((fingerprint >> 50) & _MASK) == 0) or length >= MAX_CHUNK:
            result.append(data[start:position + 1])
            start, fingerprint = position + 1, 0
    if start < len(data):
        result.append(data[start:])
    return result


@frozen
class Stats:
    """What an archive holds: its snapshots and chunks, and the bytes they stand for and take."""

    snapshots: int
    chunks: int
    logical_bytes: int  # what the snapshots add up to
    stored_bytes: int  # what the chunks take on disk

    @property
    def dedup_ratio(self) -> float:
        return self.logical_bytes / self.stored_bytes if self.stored_bytes else 1.0


class Archive:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _chunk_path(self, digest: str) -> Path:
        return self.root / "chunks" / digest[:2] / digest

    def _manifest_path(self, snapshot: str) -> Path:
        return self.root / "snapshots" / snapshot[:2] / snapshot

    def put(self, text: str) -> str:
        """Store ``text``; return its snapshot id (the SHA-256 of its bytes)."""
        data = text.encode("utf-8")
        snapshot = hashlib.sha256(data).hexdigest()
        if self._manifest_path(snapshot).exists():
            return snapshot
        names = []
        for piece in chunks(data):
            digest = hashlib.sha256(piece).hexdigest()
            names.append(digest)
            path = self._chunk_path(digest)
            if not path.exists():
                _write_atomic(path, zlib.compress(piece, 6))
        _write_atomic(self._manifest_path(snapshot), json.dumps({"size": len(data), "chunks": names}).encode())
        return snapshot

    def resolve(self, prefix: str) -> str:
        """A full snapshot id from a unique prefix of at least 6 hex digits."""
        prefix = prefix.lower()
        if len(prefix) < 6 or any(c not in "0123456789abcdef" for c in prefix):
            raise ArchiveError(f"snapshot id {prefix!r}: give at least 6 hex digits of it (see intent history)")
        folder = self.root / "snapshots" / prefix[:2]
        found = sorted(p.name for p in folder.glob(f"{prefix}*")) if folder.is_dir() else []
        if not found:
            raise ArchiveError(f"no snapshot {prefix} in {self.root}")
        if len(found) > 1:
            raise ArchiveError(f"snapshot id {prefix} is ambiguous ({len(found)} match): give more digits")
        return found[0]

    def get(self, snapshot: str) -> str:
        """The stored text, checked bit for bit against its id."""
        snapshot = self.resolve(snapshot)
        try:
            manifest = json.loads(self._manifest_path(snapshot).read_text())
        except (OSError, ValueError):
            manifest = None
        names = manifest.get("chunks") if isinstance(manifest, dict) else None
        if not isinstance(names, list) or not all(isinstance(n, str) and _HEX64.fullmatch(n) for n in names):
            raise ArchiveError(f"snapshot {snapshot[:12]}: its manifest is corrupt (not a list of chunk hashes)")
        data = b"".join(self._chunk(name) for name in names)
        if hashlib.sha256(data).hexdigest() != snapshot or len(data) != manifest.get("size"):
            raise ArchiveError(f"snapshot {snapshot[:12]} does not hash to its id: the archive is corrupt")
        return data.decode("utf-8")

    def _chunk(self, name: str) -> bytes:
        try:
            piece = zlib.decompress(self._chunk_path(name).read_bytes())
        except FileNotFoundError:
            raise ArchiveError(f"chunk {name[:12]} is missing") from None
        except zlib.error:
            raise ArchiveError(f"chunk {name[:12]} is corrupt (does not decompress)") from None
        if hashlib.sha256(piece).hexdigest() != name:
            raise ArchiveError(f"chunk {name[:12]} is corrupt (its content does not hash to its name)")
        return piece

    def stats(self) -> Stats:
        manifests = list((self.root / "snapshots").glob("*/*"))
        logical = sum(json.loads(p.read_text())["size"] for p in manifests)
        stored = list((self.root / "chunks").glob("*/*"))
        return Stats(len(manifests), len(stored), logical, sum(p.stat().st_size for p in stored))

    def verify(self) -> list[str]:
        """Re-hash every chunk and check every manifest; return one line per problem."""
        problems = []
        for path in sorted((self.root / "chunks").glob("*/*")):
            try:
                self._chunk(path.name)
            except ArchiveError as exc:
                problems.append(str(exc))
        for path in sorted((self.root / "snapshots").glob("*/*")):
            manifest = json.loads(path.read_text())
            missing = [name for name in manifest["chunks"] if not self._chunk_path(name).exists()]
            if missing:
                problems.append(f"snapshot {path.name[:12]} refers to {len(missing)} missing chunk(s)")
        return problems


def _write_atomic(path: Path, data: bytes | Sequence[bytes | memoryview]) -> None:
    tmp, handle = open_temporary(path)
    finish_atomic(path, tmp, handle, data)


def open_temporary(path: Path) -> tuple[Path, BinaryIO]:
    """The temporary file ``write_atomic`` writes ``path`` through (in the same directory, unique per
    writer), created and open for writing; ``finish_atomic`` writes it and puts it in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")  # unique per writer (threads)
    return tmp, open(tmp, "wb")  # noqa: SIM115 - closed by finish_atomic


def finish_atomic(path: Path, tmp: Path, handle: BinaryIO, data: bytes | Sequence[bytes | memoryview]) -> None:
    """Write ``data`` to the temporary file ``open_temporary(path)`` made, fsync it, close it and rename it
    to ``path``; on any failure the temporary file goes and ``path`` is left as it was."""
    try:
        with handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                handle.writelines(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed write leaves neither half a file nor a stray temporary
        raise


def write_atomic(path: Path, data: bytes | Sequence[bytes | memoryview]) -> None:
    """Write ``data`` (bytes, or pieces of them in order) to ``path`` through a temporary file in the same
    directory, fsynced, then renamed."""
    _write_atomic(path, data)
