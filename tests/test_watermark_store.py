"""The manifest store: SQLite in the keys folder, concurrent readers, no file on lookup."""

from __future__ import annotations

import os
import threading

import pytest

from provenance.errors import UsageError
from provenance.store import STORE_NAME, ManifestStore


def test_add_lookup_latest(tmp_path):
    store = ManifestStore(tmp_path)
    assert store.lookup("org.framemark.video.1", "AAAA") == []
    assert not (tmp_path / STORE_NAME).exists()  # lookups never create the file
    store.add(alg="org.framemark.video.1", value="AAAA", asset_sha256="ab" * 32, created=1.0)
    store.add(alg="org.framemark.video.1", value="AAAA", manifest_bytes=b"\x00manifest", manifest_id="urn:c2pa:1",
              asset_sha256="cd" * 32, created=2.0)
    store.add(alg="org.framemark.latent.1", value="AAAA", manifest_id="urn:c2pa:2", created=3.0)
    rows = store.lookup("org.framemark.video.1", "AAAA")
    assert [r.manifest_id for r in rows] == ["urn:c2pa:1", None]
    best = store.latest("org.framemark.video.1", "AAAA")
    assert best.manifest_bytes == b"\x00manifest" and best.asset_sha256 == "cd" * 32
    assert store.latest("org.framemark.video.1", "BBBB") is None
    assert oct((tmp_path / STORE_NAME).stat().st_mode & 0o777) == "0o600"
    assert len(store.all()) == 3


def test_missing_folder_and_bad_record(tmp_path):
    with pytest.raises(UsageError):
        ManifestStore(tmp_path / "nope").add(alg="a", value="b")
    with pytest.raises(UsageError):
        ManifestStore(tmp_path).add(alg="", value="b")


def test_concurrent_writers_and_readers(tmp_path):
    store = ManifestStore(tmp_path)
    store.add(alg="a", value="seed")
    errors: list[BaseException] = []

    def writer(n):
        try:
            for i in range(25):
                ManifestStore(tmp_path).add(alg="a", value=f"{n}-{i}", manifest_bytes=os.urandom(64))
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    def reader():
        try:
            for _ in range(50):
                assert ManifestStore(tmp_path).lookup("a", "seed")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)] + [threading.Thread(target=reader)
                                                                               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(store.all()) == 1 + 3 * 25


def test_by_manifest_id_finds_the_newest_record_with_a_manifest(tmp_path):
    store = ManifestStore(tmp_path)
    assert store.by_manifest_id("urn:c2pa:none") is None  # no store yet: no error, no file
    store.add(alg="org.framemark.video.1", value="AAAA", manifest_id="urn:c2pa:one", manifest_bytes=b"old", created=1.0)
    store.add(alg="org.framemark.video.1", value="AAAA", manifest_id="urn:c2pa:one", manifest_bytes=b"new", created=2.0)
    store.add(alg="org.framemark.video.1", value="BBBB", manifest_id="urn:c2pa:two")
    assert store.by_manifest_id("urn:c2pa:one").manifest_bytes == b"new"
    assert store.by_manifest_id("urn:c2pa:two") is None  # recorded without manifest bytes
