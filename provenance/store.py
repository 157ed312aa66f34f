"""The manifest store: soft-binding value -> the C2PA manifest it belongs to.

Every watermark embed (and every generated clip) records its identifier here, with
the manifest bytes when the output was signed. The detector uses it to recover
Content Credentials that re-encoding stripped: watermark -> identifier -> manifest.

One SQLite file in the keys folder (``manifests.sqlite``), in WAL mode so that any
number of readers (the HTTP service, batch detection) run while a writer adds rows;
every call opens its own short-lived connection, so a store object is safe to share
between threads. Lookups never create the file.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, UsageError

__all__ = ["ManifestRecord", "ManifestStore", "STORE_NAME"]

STORE_NAME = "manifests.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS bindings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alg TEXT NOT NULL,
    value TEXT NOT NULL,
    manifest_id TEXT,
    manifest BLOB,
    asset_sha256 TEXT,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS bindings_alg_value ON bindings (alg, value);
CREATE INDEX IF NOT EXISTS bindings_manifest_id ON bindings (manifest_id);
"""


@dataclass(frozen=True)
class ManifestRecord:
    alg: str
    value: str                 # base64 of the identifier, as in the soft-binding block
    manifest_id: str | None
    manifest_bytes: bytes | None
    asset_sha256: str | None
    created: float             # unix time

    def to_dict(self) -> dict:
        return {"alg": self.alg, "value": self.value, "manifest_id": self.manifest_id,
                "has_manifest": self.manifest_bytes is not None, "asset_sha256": self.asset_sha256,
                "created": self.created}


class ManifestStore:
    """``ManifestStore(keys_dir)``: add and look up soft bindings."""

    def __init__(self, keys_dir: str | os.PathLike):
        self.dir = Path(keys_dir)
        self.path = self.dir / STORE_NAME

    def _connect(self, write: bool) -> sqlite3.Connection:
        if write:
            if not self.dir.is_dir():
                raise UsageError(f"keys folder {self.dir} does not exist (run `framemark keys init`)")
            fresh = not self.path.exists()
            con = sqlite3.connect(self.path, timeout=30.0)
            if fresh:
                os.chmod(self.path, 0o600)
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
            return con
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30.0)
        return con

    def add(self, *, alg: str, value: str, manifest_bytes: bytes | None = None, manifest_id: str | None = None,
            asset_sha256: str | None = None, created: float | None = None) -> None:
        """Record one binding (several rows may share a value: re-signed copies of a clip)."""
        if not alg or not value:
            raise UsageError("a manifest store record needs an alg and a value")
        con = self._connect(write=True)
        try:
            with con:
                con.execute(
                    "INSERT INTO bindings (alg, value, manifest_id, manifest, asset_sha256, created) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (alg, value, manifest_id, None if manifest_bytes is None else bytes(manifest_bytes),
                     asset_sha256, time.time() if created is None else float(created)))
        finally:
            con.close()

    def lookup(self, alg: str, value: str) -> list[ManifestRecord]:
        """Every record for (alg, value), newest first; [] when there is none (or no store yet)."""
        return self._query("WHERE alg = ? AND value = ?", (alg, value))

    def latest(self, alg: str, value: str) -> ManifestRecord | None:
        """The newest record for (alg, value) that carries a manifest, else the newest at all."""
        rows = self.lookup(alg, value)
        return next((r for r in rows if r.manifest_bytes is not None), rows[0] if rows else None)

    def values(self, alg: str, limit: int = 1_000_000) -> list[str]:
        """Every distinct value recorded for ``alg`` (the candidates a detector may match)."""
        if not self.path.exists():
            return []
        try:
            con = self._connect(write=False)
            try:
                rows = con.execute("SELECT DISTINCT value FROM bindings WHERE alg = ? LIMIT ?",
                                   (alg, int(limit))).fetchall()
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path}: unreadable manifest store ({exc})") from None
        return [v for (v,) in rows]

    def by_manifest_id(self, manifest_id: str) -> ManifestRecord | None:
        """The newest record whose manifest has this id (the resolver's GET /manifests/{id})."""
        rows = self._query("WHERE manifest_id = ? AND manifest IS NOT NULL", (manifest_id,), 1)
        return rows[0] if rows else None

    def all(self, limit: int = 1000) -> list[ManifestRecord]:
        return self._query("", (), limit)

    def _query(self, where: str, params: tuple, limit: int | None = None) -> list[ManifestRecord]:
        if not self.path.exists():
            return []
        sql = ("SELECT alg, value, manifest_id, manifest, asset_sha256, created FROM bindings "
               f"{where} ORDER BY created DESC, id DESC")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        try:
            con = self._connect(write=False)
            try:
                rows = con.execute(sql, params).fetchall()
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path}: unreadable manifest store ({exc})") from None
        return [ManifestRecord(alg=a, value=v, manifest_id=m, manifest_bytes=None if b is None else bytes(b),
                               asset_sha256=h, created=c) for a, v, m, b, h, c in rows]
