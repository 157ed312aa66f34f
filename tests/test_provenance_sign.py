"""provenance.sign: real c2pa signing of real H.264 files made at test time."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os

import pytest

from provenance.errors import IdentityError, OutputExistsError, UnsupportedFormatError, UsageError
from provenance.keys import load_identity
from provenance.sign import (IPTC_PREFIX, SoftBinding, active_manifest_label, add_soft_bindings, build_manifest,
                             sign_file, source_type_uri)
from provenance.verify import verify_file


@pytest.fixture()
def clip(tmp_path, make_clip):
    return make_clip(tmp_path / "clip.mp4", frames=8)


def _parts(d):
    return [p for p in os.listdir(d) if ".part" in p]


def test_sign_embeds_everything(tmp_path, clip, keys_dir):
    ident = load_identity(keys_dir)
    value = base64.b64encode(bytes.fromhex("0a1b2c3d4e5f")).decode()
    res = sign_file(clip, tmp_path / "signed.mp4", ident, title="my clip",
                    assertions=[{"label": "org.framemark.generation", "data": {"seed": 7}}],
                    soft_bindings=[SoftBinding("org.framemark.video.1", value, {"timespan": {"start": 0, "end": 333}}),
                                   SoftBinding("org.framemark.latent.1", value)])
    assert res.path.is_file() and res.manifest_id.startswith("urn:c2pa:")
    assert res.sha256 == __import__("hashlib").sha256(res.path.read_bytes()).hexdigest()
    assert res.path.stat().st_size > clip.stat().st_size
    rep = verify_file(res.path).to_dict()
    assert rep["state"] == "trusted" and rep["failures"] == []
    assert rep["active_manifest"] == res.manifest_id  # read from JUMBF == what c2pa calls active
    assert rep["title"] == "my clip" and rep["ai_generated"] is True
    assert rep["digital_source_type"] == IPTC_PREFIX + "trainedAlgorithmicMedia"
    assert rep["claim_generator"][0]["name"] == "framemark"
    assert [a["action"] for a in rep["actions"]] == ["c2pa.created", "c2pa.watermarked"]
    assert {(b["alg"], b["value"]) for b in rep["soft_bindings"]} == {("org.framemark.video.1", value),
                                                                      ("org.framemark.latent.1", value)}
    scoped = next(b for b in rep["soft_bindings"] if b["alg"] == "org.framemark.video.1")
    assert scoped["blocks"][0]["scope"] == {"timespan": {"start": 0, "end": 333}}
    labels = json.dumps(rep["manifest"])
    assert "org.framemark.generation" in labels and '"seed": 7' in labels


@pytest.mark.parametrize("name, ai", [("digitalCapture", False), ("compositeWithTrainedAlgorithmicMedia", True),
                                      ("algorithmicMedia", None)])
def test_source_types(tmp_path, clip, keys_dir, name, ai):
    res = sign_file(clip, tmp_path / "s.mp4", load_identity(keys_dir), source_type=name)
    rep = verify_file(res.path)
    assert rep.digital_source_type == IPTC_PREFIX + name and rep.ai_generated is ai


def test_unknown_source_type_and_bad_assertions(tmp_path, clip, keys_dir):
    ident = load_identity(keys_dir)
    with pytest.raises(UsageError, match="source type"):
        sign_file(clip, tmp_path / "s.mp4", ident, source_type="madeUp")
    with pytest.raises(UsageError, match="label"):
        sign_file(clip, tmp_path / "s.mp4", ident, assertions=[{"nolabel": 1}])
    with pytest.raises(UsageError, match="managed by framemark"):
        sign_file(clip, tmp_path / "s.mp4", ident, assertions=[{"label": "c2pa.actions", "data": {}}])
    assert not (tmp_path / "s.mp4").exists()
    assert source_type_uri(IPTC_PREFIX + "digitalCapture") == IPTC_PREFIX + "digitalCapture"


def test_add_soft_bindings_shape():
    m = build_manifest(title="t")
    out = add_soft_bindings(m, [SoftBinding("a.b", "AAEC")])
    assert m != out and len(m["assertions"]) == 1  # a copy, input untouched
    sb = [a for a in out["assertions"] if a["label"] == "c2pa.soft-binding"]
    assert sb == [{"label": "c2pa.soft-binding", "data": {"alg": "a.b", "blocks": [{"scope": {}, "value": "AAEC"}]}}]
    acts = out["assertions"][0]["data"]["actions"]
    assert acts[-1]["action"] == "c2pa.watermarked"


def test_parent_ingredient_and_inherited_source_type(tmp_path, clip, keys_dir):
    ident = load_identity(keys_dir)
    parent = sign_file(clip, tmp_path / "parent.mp4", ident, source_type="trainedAlgorithmicMedia")
    child = sign_file(clip, tmp_path / "child.mp4", ident, parent=parent.path, source_type=None)
    rep = verify_file(child.path).to_dict()
    assert rep["state"] == "trusted" and rep["actions"][0]["action"] == "c2pa.opened"
    assert len(rep["manifest"]["manifests"]) == 2
    (ing,) = rep["ingredients"]
    assert ing["relationship"] == "parentOf" and ing["active_manifest"] == parent.manifest_id
    assert ing["state"] == "trusted" and rep["ingredient_failures"] == []
    assert rep["ai_generated"] is True  # inherited from the parent's c2pa.created


def test_no_overwrite_and_atomic(tmp_path, clip, keys_dir):
    ident = load_identity(keys_dir)
    out = tmp_path / "s.mp4"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="--force"):
        sign_file(clip, out, ident)
    assert out.read_bytes() == b"keep me" and not _parts(tmp_path)
    sign_file(clip, out, ident, force=True)
    assert verify_file(out).state == "trusted"


def test_webm_needs_sidecar_and_sidecar_round_trip(tmp_path, keys_dir):
    from provenance.media import Clip, write_clip
    from tests.conftest import moving_frames

    webm = tmp_path / "c.webm"
    write_clip(webm, Clip(frames=moving_frames(6), fps=12.0), codec="libvpx-vp9", crf=40, preset=None)
    ident = load_identity(keys_dir)
    with pytest.raises(UnsupportedFormatError, match="--sidecar"):
        sign_file(webm, tmp_path / "s.webm", ident)
    assert not (tmp_path / "s.webm").exists() and not _parts(tmp_path)
    before = webm.read_bytes()
    plain = verify_file(webm)  # no sidecar yet: nothing to find, and not an error
    assert plain.state == "absent" and "sidecar" in plain.notes[0]
    res = sign_file(webm, None, ident, sidecar=True)
    assert res.path == tmp_path / "c.c2pa" and webm.read_bytes() == before  # asset untouched
    rep = verify_file(webm)  # sidecar found beside it
    assert rep.state == "trusted" and rep.manifest_source == "sidecar"
    with pytest.raises(UsageError, match=r"\.c2pa"):
        sign_file(webm, tmp_path / "x.webm", ident, sidecar=True)


def test_mp4_sidecar_detects_tampering(tmp_path, clip, keys_dir):
    res = sign_file(clip, tmp_path / "m.c2pa", load_identity(keys_dir), sidecar=True)
    assert verify_file(clip, sidecar=res.path).state == "trusted"
    data = bytearray(clip.read_bytes())
    data[-10] ^= 0xFF
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(data)
    rep = verify_file(bad, sidecar=res.path)
    assert rep.state == "invalid" and "assertion.bmffHash.mismatch" in rep.failures


def test_expired_identity_fails_before_output(tmp_path, clip, keys_dir):
    import dataclasses

    from tests.test_provenance_keys import _ca_and_leaf

    ident = load_identity(keys_dir)
    late = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=365 * 40)
    with pytest.raises(IdentityError, match="expired"):
        ident.check_valid(now=late)
    # a real expired certificate + its key, as an identity whose files changed after loading
    cert, key = _ca_and_leaf(tmp_path, days=(-30, -1))
    expired = dataclasses.replace(ident, chain_pem=cert.read_bytes(), key_path=key)
    with pytest.raises(IdentityError, match="expired"):
        sign_file(clip, tmp_path / "s.mp4", expired)
    assert not (tmp_path / "s.mp4").exists() and not _parts(tmp_path)
    # and in a keys folder: load_identity refuses it
    kd = tmp_path / "kd"
    kd.mkdir()
    (kd / "signer.pem").write_bytes(cert.read_bytes())
    (kd / "signer.key").write_bytes(key.read_bytes())
    with pytest.raises(IdentityError, match="expired"):
        load_identity(kd)


def test_mismatched_key_fails_before_output(tmp_path, clip, keys_dir):
    import dataclasses

    from provenance.keys import init_identity

    other = init_identity(tmp_path / "other")
    ident = dataclasses.replace(load_identity(keys_dir), key_path=other.key_path)
    with pytest.raises(IdentityError, match="does not match"):
        sign_file(clip, tmp_path / "s.mp4", ident)
    assert not (tmp_path / "s.mp4").exists() and not _parts(tmp_path)


def test_active_manifest_label_on_garbage():
    assert active_manifest_label(b"") is None
    assert active_manifest_label(os.urandom(64)) is None


def test_small_image_is_not_bloated_and_outputs_are_readable(tmp_path, keys_dir):
    """c2pa-rs upscales image thumbnails to 1024 px by default (a 4 KB JPEG grew to
    133 KB); framemark caps the thumbnail at the image's own size. Outputs are 0644."""
    import stat

    import numpy as np
    from PIL import Image

    src = tmp_path / "small.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 96, 3), dtype=np.uint8)).save(src)
    res = sign_file(src, tmp_path / "signed.jpg", load_identity(keys_dir), source_type="digitalCapture")
    rep = verify_file(res.path).to_dict()
    assert rep["state"] == "trusted"
    assert rep["manifest"]["manifests"][rep["active_manifest"]].get("thumbnail")  # still has one
    assert res.path.stat().st_size < 40_000, res.path.stat().st_size
    assert stat.S_IMODE(res.path.stat().st_mode) == 0o644
    side = sign_file(src, tmp_path / "small.c2pa", load_identity(keys_dir), sidecar=True)
    assert stat.S_IMODE(side.path.stat().st_mode) == 0o644 and len(side.manifest_bytes) < 40_000
