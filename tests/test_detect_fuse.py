"""detect_file end to end: a real pixel watermark, a real signed-then-stripped clip recovered from
the store, a tampered manifest. Runs once provenance.keys / provenance.verify are installed."""

import base64

import numpy as np
import pytest

from detect.fuse import detect_file
from provenance.media import Clip, read_clip, write_clip
from provenance.store import ManifestStore
from tests.test_detect_recovery import ALG, _sign

ID = bytes.fromhex("0a1b2c3d4e5f")


def _frames(t=16, h=128, w=160, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([np.clip(np.stack([(xx + 3 * i) % 256, (yy * 2) % 256, np.full_like(xx, 90)], -1)
                             + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8) for i in range(t)])


@pytest.fixture
def keys_dir(tmp_path):
    from provenance.keys import init_identity

    d = tmp_path / "keys"
    init_identity(d)
    return d


def _marked(keys_dir, path):
    from provenance.keys import load_watermark_key
    from watermark.pixel import PixelWatermark

    clip = PixelWatermark(load_watermark_key(keys_dir)).embed(Clip(_frames(), 8.0), ID)
    write_clip(path, clip, crf=23)
    return path


def test_plain_clip_has_no_hard_evidence(tmp_path, keys_dir):
    p = tmp_path / "plain.mp4"
    write_clip(p, Clip(_frames(seed=1), 8.0), crf=23)
    r = detect_file(p, keys_dir=keys_dir, latent=False)
    assert r["verdict"] in ("unknown", "likely-ai") and not r["hard_evidence"]
    wm = [w for w in r["watermarks"] if w["alg"] == ALG][0]
    assert not wm["detected"] and wm["p_value"] > 1e-6
    assert set(r["timings"]) >= {"c2pa_s", "decode_s", "watermarks_s", "recovery_s", "classifier_s", "total_s"}


def test_watermark_without_manifest_is_ai_generated_watermarked_and_recovers(tmp_path, keys_dir):
    marked = _marked(keys_dir, tmp_path / "marked.mp4")
    value = base64.b64encode(ID).decode()
    manifest = _sign(marked, tmp_path / "signed.mp4", value)
    ManifestStore(keys_dir).add(alg=ALG, value=value, manifest_bytes=manifest, manifest_id="urn:fuse:1")
    stripped = tmp_path / "stripped.mp4"
    write_clip(stripped, read_clip(tmp_path / "signed.mp4"), crf=20)
    r = detect_file(stripped, keys_dir=keys_dir, latent=False)
    assert r["c2pa"]["state"] == "absent"  # the re-encode stripped the manifest
    assert r["verdict"] == "ai-generated-watermarked" and r["hard_evidence"]
    assert r["recovery"]["recovered"]
    rec = r["recovery"]["results"][0]
    assert rec["status"] == "recovered" and rec["validation"]["state"] == "recovered"
    assert 0 < r["score"] < 1


def test_tampered_manifest_is_tampered(tmp_path, keys_dir):
    src = tmp_path / "src.mp4"
    write_clip(src, Clip(_frames(seed=2), 8.0), crf=23)
    signed = tmp_path / "signed.mp4"
    _sign(src, signed, base64.b64encode(ID).decode())
    data = bytearray(signed.read_bytes())
    mdat = data.find(b"mdat")
    data[mdat + 200] ^= 0xFF                        # one flipped byte of video data
    bad = tmp_path / "tampered.mp4"
    bad.write_bytes(bytes(data))
    r = detect_file(bad, keys_dir=keys_dir, latent=False)
    assert r["c2pa"]["state"] == "invalid"
    assert r["verdict"] == "tampered"


def test_model_metadata_path_is_the_generators():
    from detect import fuse

    model = pytest.importorskip("generate.model")
    pkg = model.DEFAULT_MODEL_DIR.parents[len(fuse.MODEL_SUBDIR) - 1]
    assert pkg.joinpath(*fuse.MODEL_SUBDIR) == model.DEFAULT_MODEL_DIR


def test_clip_of_another_shape_skips_the_latent_check_without_loading_the_generator(tmp_path, keys_dir):
    # the service's first upload used to load the generator (diffusers + weights: ~5 s and
    # ~200 MiB a process, measured 2026-12-03) only to skip the latent check of a 16:9 clip
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from detect.fuse import _installed_model_size

    size = _installed_model_size()
    if size is None:
        pytest.skip("the built-in generator is not installed")
    clip = tmp_path / "wide.mp4"
    write_clip(clip, Clip(_frames(t=16, h=90, w=160), 8.0), crf=23)
    code = ("import json, sys; from detect.fuse import detect_file; "
            f"r = detect_file({str(clip)!r}, keys_dir={str(keys_dir)!r}); "
            "print(json.dumps({'latent': [w for w in r['watermarks'] if 'latent' in w['alg']], "
            "'diffusers': 'diffusers' in sys.modules}))")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert not got["diffusers"]
    (latent,) = got["latent"]
    assert latent["skipped"] and "aspect ratio" in latent["reason"] and f"{size[0]}x{size[1]}" in latent["reason"]
