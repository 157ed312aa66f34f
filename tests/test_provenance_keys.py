"""provenance.keys: identities c2pa accepts, 0600 secrets, no clobbering, checked imports."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provenance.errors import IdentityError, OutputExistsError, UsageError
from provenance.keys import (ALGORITHMS, init_identity, load_identity, load_watermark_key,
                             resolve_keys_dir)


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_resolve_keys_dir_order(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEMARK_HOME", str(tmp_path / "env"))
    assert resolve_keys_dir(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_keys_dir(None) == tmp_path / "env"
    monkeypatch.delenv("FRAMEMARK_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_keys_dir(None) == tmp_path / "home" / ".framemark"


def test_keys_dir_fixture_is_the_isolated_home(keys_dir):
    assert str(keys_dir) == os.environ["FRAMEMARK_HOME"]
    assert not str(keys_dir).startswith(os.path.expanduser("~/.framemark"))
    assert load_identity().keys_dir == keys_dir


def test_init_writes_profile_c2pa_accepts(tmp_path):
    ident = init_identity(tmp_path / "k", common_name="unit signer")
    kd = tmp_path / "k"
    assert _mode(kd) == 0o700
    for name in ("ca.key", "signer.key", "watermark.key"):
        assert _mode(kd / name) == 0o600, name
    assert len(load_watermark_key(kd)) == 32
    certs = x509.load_pem_x509_certificates((kd / "signer.pem").read_bytes())
    leaf, ca = certs[0], x509.load_pem_x509_certificate((kd / "ca.pem").read_bytes())
    assert certs[1] == ca and leaf.issuer == ca.subject
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    # long-lived: without a TSA, expiry would invalidate every signed asset
    assert leaf.not_valid_after_utc - dt.datetime.now(dt.timezone.utc) > dt.timedelta(days=10 * 365)
    assert ident.alg == "es256" and ident.common_name == "unit signer"
    assert ident.signer() is not None


@pytest.mark.parametrize("alg", [a for a in ALGORITHMS if a != "es256"])
def test_other_algorithms_sign(tmp_path, alg, make_clip):
    from provenance.sign import sign_file
    from provenance.verify import verify_file

    ident = init_identity(tmp_path / alg, alg=alg)
    assert ident.alg == alg
    out = sign_file(make_clip(tmp_path / "a.mp4", frames=4), tmp_path / "s.mp4", ident)
    assert verify_file(out.path, trust=[tmp_path / alg / "ca.pem"]).state == "trusted"


def test_no_overwrite_without_force_and_watermark_key_kept(tmp_path):
    kd = tmp_path / "k"
    first = init_identity(kd)
    wm = load_watermark_key(kd)
    with pytest.raises(OutputExistsError, match="--force"):
        init_identity(kd)
    second = init_identity(kd, force=True)
    assert second.fingerprint_sha256 != first.fingerprint_sha256
    assert load_watermark_key(kd) == wm  # --force must not orphan existing watermarks
    init_identity(kd, force=True, rotate_watermark_key=True)
    assert load_watermark_key(kd) != wm


def test_existing_empty_folder_is_fine(tmp_path):
    (tmp_path / "k").mkdir()
    init_identity(tmp_path / "k")
    assert load_identity(tmp_path / "k").alg == "es256"


def test_missing_identity_and_watermark_key(tmp_path):
    with pytest.raises(IdentityError, match="keys init"):
        load_identity(tmp_path / "nothing")
    with pytest.raises(IdentityError, match="keys init"):
        load_watermark_key(tmp_path / "nothing")
    with pytest.raises(UsageError):
        init_identity(tmp_path / "x", alg="rsa1024")


def _ca_and_leaf(tmp_path, *, days=(-1, 30), eku=True, leaf_key=None):
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outside CA")])
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - dt.timedelta(days=2)).not_valid_after(now + dt.timedelta(days=90))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imported")]))
         .issuer_name(name).public_key(key.public_key()).serial_number(2)
         .not_valid_before(now + dt.timedelta(days=days[0])).not_valid_after(now + dt.timedelta(days=days[1]))
         .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    leaf = b.sign(ca_key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    cert_path, key_path = tmp_path / "chain.pem", tmp_path / "leaf.key"
    cert_path.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    k = leaf_key or key
    key_path.write_bytes(k.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


def test_import_existing_chain(tmp_path):
    cert, key = _ca_and_leaf(tmp_path)
    ident = init_identity(tmp_path / "k", cert=cert, key=key)
    assert ident.common_name == "imported" and ident.issuer == "outside CA"
    assert _mode(tmp_path / "k" / "signer.key") == 0o600
    assert (tmp_path / "k" / "ca.pem").is_file() and not (tmp_path / "k" / "ca.key").exists()


@pytest.mark.parametrize("case, message", [
    ("expired", "expired"), ("future", "not valid before"), ("mismatch", "does not match"), ("no-eku", "extended key"),
])
def test_bad_import_fails_before_anything_is_written(tmp_path, case, message):
    kwargs = {"expired": {"days": (-30, -1)}, "future": {"days": (10, 40)},
              "mismatch": {"leaf_key": ec.generate_private_key(ec.SECP256R1())}, "no-eku": {"eku": False}}[case]
    cert, key = _ca_and_leaf(tmp_path, **kwargs)
    with pytest.raises(IdentityError, match=message):
        init_identity(tmp_path / "k", cert=cert, key=key)
    assert not (tmp_path / "k").exists()


def test_load_detects_mismatched_key(tmp_path):
    init_identity(tmp_path / "a")
    init_identity(tmp_path / "b")
    (tmp_path / "a" / "signer.key").write_bytes((tmp_path / "b" / "signer.key").read_bytes())
    with pytest.raises(IdentityError, match="does not match"):
        load_identity(tmp_path / "a")
