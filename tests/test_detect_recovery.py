"""Credential recovery through a soft binding: a real C2PA-signed clip, stripped by a real
re-encode, recovered from a real manifest store; a manifest whose soft binding does not carry
the decoded alg and value is rejected (C2PA 2.2 sec. 18.10.5.1)."""

import base64
import datetime as dt
import json

import numpy as np
import pytest

c2pa = pytest.importorskip("c2pa")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

from detect.recovery import binding_matches, inspect_manifest, recover  # noqa: E402
from provenance.media import Clip, read_clip, write_clip  # noqa: E402
from provenance.store import ManifestStore  # noqa: E402

ALG = "org.framemark.video.1"


def _signer_pems():
    """A CA and a leaf with the profile c2pa-rs accepts (see shared c2pa facts, sec. 2)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "detect test signer"),
                                     x509.NameAttribute(NameOID.ORGANIZATION_NAME, "framemark tests")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    chain = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    pkey = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    return chain, pkey


def _sign(src, dst, value, alg=ALG):
    chain, pkey = _signer_pems()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain, pkey, None))
    manifest = {
        "claim_generator_info": [{"name": "framemark-tests", "version": "0"}],
        "title": "generated.mp4",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [
                {"action": "c2pa.created", "digitalSourceType":
                    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"},
                {"action": "c2pa.watermarked"}]}},
            {"label": "c2pa.soft-binding", "data": {"alg": alg, "blocks": [{"scope": {}, "value": value}]}},
        ],
    }
    with open(src, "rb") as fi, open(dst, "w+b") as fo:
        manifest_bytes = c2pa.Builder(manifest).sign(signer, "video/mp4", fi, fo)
    return bytes(manifest_bytes)


@pytest.fixture(scope="module")
def signed_and_stripped(tmp_path_factory):
    d = tmp_path_factory.mktemp("recovery")
    rng = np.random.default_rng(5)
    write_clip(d / "raw.mp4", Clip(frames=rng.integers(0, 256, (8, 48, 64, 3), dtype=np.uint8), fps=8.0),
               crf=30, preset="ultrafast")
    identifier = bytes.fromhex("0a1b2c3d4e5f")
    value = base64.b64encode(identifier).decode()
    manifest_bytes = _sign(d / "raw.mp4", d / "signed.mp4", value)
    # strip: a real re-encode drops the manifest
    write_clip(d / "stripped.mp4", read_clip(d / "signed.mp4"), crf=28, preset="ultrafast")
    return d, identifier, value, manifest_bytes


def test_stripped_clip_really_has_no_manifest(signed_and_stripped):
    d, *_ = signed_and_stripped
    assert json.loads(c2pa.Reader(str(d / "signed.mp4")).json())["active_manifest"]
    assert c2pa.Reader.try_create(str(d / "stripped.mp4")) is None


def test_recovered_from_local_store(signed_and_stripped, tmp_path):
    d, identifier, value, manifest_bytes = signed_and_stripped
    ManifestStore(tmp_path).add(alg=ALG, value=value, manifest_bytes=manifest_bytes, manifest_id="urn:test:1")
    wm = [{"alg": ALG, "detected": True, "p_value": 1e-15, "payload": identifier.hex()}]
    out = recover(wm, {ALG: identifier}, keys_dir=tmp_path)
    assert out["attempted"] and out["recovered"]
    (rec,) = out["results"]
    assert rec["status"] == "recovered" and rec["manifest_id"] == "urn:test:1"
    assert rec["validation"]["state"] == "recovered"          # never "valid" for the stripped file
    assert rec["declares_ai"] is True
    assert rec["signer"]["common_name"] == "detect test signer"
    assert rec["validation"]["signature_failures"] in ([], ["signingCredential.untrusted"])


def test_binding_mismatch_is_rejected(signed_and_stripped, tmp_path):
    d, identifier, value, manifest_bytes = signed_and_stripped
    other = bytes.fromhex("ffeeddccbbaa")
    other_value = base64.b64encode(other).decode()
    # a store (or resolver) that maps the other identifier to this manifest: the manifest
    # carries `value`, not `other_value`, so it must be rejected
    ManifestStore(tmp_path).add(alg=ALG, value=other_value, manifest_bytes=manifest_bytes, manifest_id="urn:x")
    out = recover([{"alg": ALG, "detected": True}], {ALG: other}, keys_dir=tmp_path)
    (rec,) = out["results"]
    assert rec["status"] == "rejected" and "18.10.5.1" in rec["reason"]
    assert not out["recovered"]
    parsed = inspect_manifest(manifest_bytes)["manifest"]
    assert binding_matches(parsed, ALG, value)
    assert not binding_matches(parsed, "org.framemark.latent.1", value)   # alg must match too


def test_unsigned_record_and_garbage_manifest(tmp_path):
    ident = b"\x01\x02\x03\x04\x05\x06"
    value = base64.b64encode(ident).decode()
    store = ManifestStore(tmp_path)
    store.add(alg=ALG, value=value)
    store.add(alg=ALG, value=value, manifest_bytes=b"not jumbf", manifest_id="urn:junk")
    out = recover([{"alg": ALG, "detected": True}], {ALG: ident}, keys_dir=tmp_path)
    statuses = sorted(r["status"] for r in out["results"])
    assert statuses == ["rejected", "unsigned"]
    assert not out["recovered"]


def test_nothing_detected_means_no_lookup(tmp_path):
    out = recover([{"alg": ALG, "detected": False, "p_value": 0.3}], {}, keys_dir=tmp_path)
    assert out == {"attempted": False, "recovered": False, "results": [], "errors": []}
