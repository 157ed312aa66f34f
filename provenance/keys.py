"""The signing identity and the watermark key, in one keys folder.

``framemark keys init`` makes a small private PKI that c2pa-rs accepts: a root CA
and an end-entity signing certificate issued by it (profile measured on
c2pa-python 0.38.1: the leaf needs KU digitalSignature, an EKU containing
emailProtection, an AKI, and no CA flag). Offline there is no timestamp
authority, so a signature is only as valid as the certificate is *now*: the
certificates are made long-lived on purpose, otherwise every asset ever signed
turns invalid the day the leaf expires.

The folder also holds the 32-byte secret watermark key. Replacing it orphans
every watermark already out there, so ``--force`` re-creates the certificates
but keeps the watermark key unless ``rotate_watermark_key`` is asked for.

Private key bytes are read only when a signer is built, and are never printed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import IdentityError, OutputExistsError, UsageError
from .fileio import write_bytes_atomic, write_private_file

__all__ = [
    "ALGORITHMS",
    "CLAIM_SIGNING_EKUS",
    "Identity",
    "resolve_keys_dir",
    "init_identity",
    "load_identity",
    "ensure_identity",
    "load_watermark_key",
    "describe_identity",
    "check_certificate_chain",
]

CA_FILE, CA_KEY_FILE = "ca.pem", "ca.key"
SIGNER_FILE, SIGNER_KEY_FILE = "signer.pem", "signer.key"
WATERMARK_KEY_FILE, IDENTITY_FILE = "watermark.key", "identity.json"
WATERMARK_KEY_BYTES = 32

#: c2pa signing algorithm names (C2paSigningAlg values) we can create identities for
ALGORITHMS = ("es256", "es384", "ps256", "ed25519")

#: EKUs c2pa-rs accepts for a claim signer once told about them (``trust.trust_config``):
#: emailProtection, timeStamping, OCSPSigning (its defaults), documentSigning, and the
#: C2PA claim-signing EKU that real C2PA CAs issue. Without documentSigning/claimSigning
#: in this list, certificates from such CAs fail to sign and read as invalid.
CLAIM_SIGNING_EKUS = (
    "1.3.6.1.5.5.7.3.4",
    "1.3.6.1.5.5.7.3.8",
    "1.3.6.1.5.5.7.3.9",
    "1.3.6.1.5.5.7.3.36",
    "1.3.6.1.4.1.62558.2.1",
    "1.3.6.1.4.1.311.76.59.1.9",
)

CA_DAYS = 30 * 365      # the root outlives every leaf it issues
LEAF_DAYS = 20 * 365    # no TSA offline: expiry would invalidate every signed asset
BACKDATE = dt.timedelta(days=1)  # tolerate clock skew between signer and verifier


def resolve_keys_dir(path: str | os.PathLike | None = None) -> Path:
    """``--keys DIR``, else ``$FRAMEMARK_HOME``, else ``~/.framemark`` (not created here)."""
    chosen = path or os.environ.get("FRAMEMARK_HOME") or Path.home() / ".framemark"
    return Path(chosen).expanduser()


# ----------------------------------------------------------------------------- identity


@dataclass(frozen=True)
class Identity:
    """A loaded signing identity. The private key stays on disk until :meth:`signer`."""

    keys_dir: Path
    alg: str                  # "es256", "es384", "ps256" or "ed25519"
    chain_pem: bytes          # leaf first, then its issuers
    key_path: Path
    root_pem: bytes | None    # our own root CA (None for an imported chain without its root)
    common_name: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint_sha256: str   # of the leaf certificate (DER)

    def check_valid(self, now: dt.datetime | None = None) -> None:
        """IdentityError unless the signing certificate is valid at ``now``."""
        _check_time(self.not_before, self.not_after, now, f"signing certificate {self.keys_dir / SIGNER_FILE}")

    def signer(self):
        """A fresh ``c2pa.Signer`` (no TSA). The key is read from disk only here."""
        import c2pa

        from .sign import c2pa_error_line

        try:
            key_pem = self.key_path.read_bytes()
        except OSError as exc:
            raise IdentityError(f"cannot read the signing key {self.key_path}: {exc.strerror}") from None
        # re-checked at every signing: the files may have changed, or the cert expired, since loading
        _check_pems(self.chain_pem, key_pem, self.alg, where=str(self.keys_dir))
        try:
            return c2pa.Signer.from_info(c2pa.C2paSignerInfo(self.alg.encode(), self.chain_pem, key_pem, None))
        except c2pa.C2paError as exc:
            raise IdentityError(f"the signing key in {self.keys_dir} is not usable for {self.alg}: "
                                f"{c2pa_error_line(exc)}") from None


def init_identity(keys_dir: str | os.PathLike | None = None, alg: str = "es256", force: bool = False,
                  cert: str | os.PathLike | None = None, key: str | os.PathLike | None = None,
                  common_name: str | None = None, *, rotate_watermark_key: bool = False) -> "Identity":
    """Create (or, with ``cert``/``key``, import) a signing identity in ``keys_dir``.

    Everything is generated and checked in memory first; files are written only
    once the whole identity is known to be usable. An existing identity is kept
    unless ``force``; the watermark key is kept even with ``force`` unless
    ``rotate_watermark_key``.
    """
    alg = (alg or "es256").lower()
    if alg not in ALGORITHMS:
        raise UsageError(f"unknown signing algorithm {alg!r} (choose from {', '.join(ALGORITHMS)})")
    if (cert is None) != (key is None):
        raise UsageError("--cert and --key go together: give both to import an identity, or neither")
    kd = resolve_keys_dir(keys_dir)
    existing = [n for n in (SIGNER_FILE, SIGNER_KEY_FILE, IDENTITY_FILE) if (kd / n).exists()]
    if existing and not force:
        raise OutputExistsError(f"{kd} already holds a signing identity (use --force to replace it; "
                                "the watermark key is kept)")
    if kd.exists() and not kd.is_dir():
        raise UsageError(f"{kd} is not a folder")

    if cert is not None:
        files = _import_files(Path(cert), Path(key), alg)
    else:
        files = _generate_files(alg, common_name or _default_common_name())
    _check_pems(files[SIGNER_FILE], files[SIGNER_KEY_FILE], alg)

    if not kd.exists():
        kd.mkdir(parents=True, mode=0o700)
    os.chmod(kd, 0o700)  # the folder holds secrets: keep others out of its listing too
    for name in (CA_FILE, CA_KEY_FILE):
        if name not in files and (kd / name).exists():
            (kd / name).unlink()  # a stale CA from an earlier identity must not stay a trust anchor
    for name, data in files.items():
        if name.endswith(".key"):
            write_private_file(kd / name, data, force=True)
        elif name != IDENTITY_FILE:
            write_bytes_atomic(kd / name, data, force=True, mode=0o644)
    wm = kd / WATERMARK_KEY_FILE
    if rotate_watermark_key or not wm.exists():
        write_private_file(wm, os.urandom(WATERMARK_KEY_BYTES), force=True)
    # identity.json last: its presence means the identity is complete
    write_bytes_atomic(kd / IDENTITY_FILE, files[IDENTITY_FILE], force=True, mode=0o644)
    return load_identity(kd)


def load_identity(keys_dir: str | os.PathLike | None = None) -> Identity:
    """The identity in ``keys_dir``; IdentityError if missing, expired, not yet valid or mismatched."""
    kd = resolve_keys_dir(keys_dir)
    chain_path, key_path = kd / SIGNER_FILE, kd / SIGNER_KEY_FILE
    if not chain_path.is_file() or not key_path.is_file():
        raise IdentityError(f"no signing identity in {kd} (run `framemark keys init`)")
    meta = _read_meta(kd)
    chain_pem = chain_path.read_bytes()
    try:
        key_pem = key_path.read_bytes()
    except OSError as exc:
        raise IdentityError(f"cannot read the signing key {key_path}: {exc.strerror}") from None
    alg = meta.get("alg") or _alg_for_key(_load_key(key_pem, key_path))
    leaf = _check_pems(chain_pem, key_pem, alg, where=str(kd))
    root_pem = (kd / CA_FILE).read_bytes() if (kd / CA_FILE).is_file() else None
    return Identity(
        keys_dir=kd, alg=alg, chain_pem=chain_pem, key_path=key_path, root_pem=root_pem,
        common_name=_name_attr(leaf.subject), issuer=_name_attr(leaf.issuer),
        not_before=leaf.not_valid_before_utc, not_after=leaf.not_valid_after_utc,
        fingerprint_sha256=_fingerprint(leaf),
    )


def load_watermark_key(keys_dir: str | os.PathLike | None = None) -> bytes:
    """The 32-byte secret watermark key; IdentityError if there is none."""
    path = resolve_keys_dir(keys_dir) / WATERMARK_KEY_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IdentityError(f"no watermark key at {path} (run `framemark keys init`)") from None
    except OSError as exc:
        raise IdentityError(f"cannot read the watermark key {path}: {exc.strerror}") from None
    if len(data) != WATERMARK_KEY_BYTES:
        raise IdentityError(f"{path} is not a {WATERMARK_KEY_BYTES}-byte watermark key ({len(data)} bytes)")
    return data


def describe_identity(keys_dir: str | os.PathLike | None = None) -> dict:
    """Public facts about the identity (for ``keys show``): never a secret.

    Works on an expired identity too, so that ``keys show`` can say so.
    """
    from cryptography import x509

    kd = resolve_keys_dir(keys_dir)
    if not (kd / SIGNER_FILE).is_file():
        raise IdentityError(f"no signing identity in {kd} (run `framemark keys init`)")
    meta = _read_meta(kd)
    certs = _parse_chain((kd / SIGNER_FILE).read_bytes(), str(kd / SIGNER_FILE))
    if (kd / CA_FILE).is_file():
        root = x509.load_pem_x509_certificate((kd / CA_FILE).read_bytes())
        if _fingerprint(root) not in {_fingerprint(c) for c in certs}:
            certs.append(root)
    now = dt.datetime.now(dt.timezone.utc)

    def cert_info(c) -> dict:
        return {
            "subject": c.subject.rfc4514_string(), "issuer": c.issuer.rfc4514_string(),
            "not_before": c.not_valid_before_utc.isoformat(), "not_after": c.not_valid_after_utc.isoformat(),
            "valid_now": c.not_valid_before_utc <= now <= c.not_valid_after_utc,
            "serial": format(c.serial_number, "x"), "sha256": _fingerprint(c),
        }

    wm = kd / WATERMARK_KEY_FILE
    return {
        "keys_dir": str(kd), "alg": meta.get("alg"), "created": meta.get("created"),
        "imported": bool(meta.get("imported")),
        "signer": cert_info(certs[0]), "chain": [cert_info(c) for c in certs[1:]],
        # the watermark key is identified by a hash of a hash, never by its bytes
        "watermark_key": {"present": wm.is_file(), "id": _key_id(wm) if wm.is_file() else None},
    }


# ----------------------------------------------------------------------------- checks


def check_certificate_chain(chain_pem: bytes, key_pem: bytes, alg: str, now: dt.datetime | None = None):
    """Raise IdentityError unless ``key_pem`` matches the leaf of ``chain_pem``, the leaf
    is valid at ``now``, and it has the profile c2pa-rs demands of a claim signer.
    Returns the leaf certificate."""
    return _check_pems(chain_pem, key_pem, alg, now=now)


def _check_pems(chain_pem: bytes, key_pem: bytes, alg: str, where: str = "the certificate",
                now: dt.datetime | None = None):
    # the profile and key match depend only on the bytes, so a passed check is remembered by
    # digest (never by the key bytes themselves); validity depends on now and is always checked
    import hashlib

    memo = (hashlib.sha256(chain_pem).digest(), hashlib.sha256(key_pem).digest(), alg)
    leaf = _PASSED.get(memo)
    if leaf is None:
        leaf = _check_static(chain_pem, key_pem, alg, where)
        if len(_PASSED) < 64:
            _PASSED[memo] = leaf
    _check_time(leaf.not_valid_before_utc, leaf.not_valid_after_utc, now, f"{where}: signing certificate")
    return leaf


_PASSED: dict[tuple, object] = {}


def _check_static(chain_pem: bytes, key_pem: bytes, alg: str, where: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certs = _parse_chain(chain_pem, where)
    leaf = certs[0]
    key = _load_key(key_pem, where)
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    if (key.public_key().public_bytes(serialization.Encoding.DER, pub)
            != leaf.public_key().public_bytes(serialization.Encoding.DER, pub)):
        raise IdentityError(f"{where}: the private key does not match the signing certificate")
    key_alg = _alg_for_key(key)
    if key_alg != alg and not (key_alg.startswith("ps") and alg.startswith("ps")):
        raise IdentityError(f"{where}: a {key_alg.upper()} key cannot sign with {alg.upper()}")

    ext = leaf.extensions
    try:
        if ext.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise IdentityError(f"{where}: the signing certificate is a CA certificate (C2PA needs an end-entity one)")
    except x509.ExtensionNotFound:
        pass
    try:
        ku = ext.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise IdentityError(f"{where}: the signing certificate has no key usage (needs digitalSignature)") from None
    if not (ku.digital_signature or ku.content_commitment) or ku.key_cert_sign:
        raise IdentityError(f"{where}: the signing certificate's key usage must allow digitalSignature "
                            "and not keyCertSign")
    try:
        ekus = {o.dotted_string for o in ext.get_extension_for_class(x509.ExtendedKeyUsage).value}
    except x509.ExtensionNotFound:
        raise IdentityError(f"{where}: the signing certificate has no extended key usage "
                            "(needs emailProtection, documentSigning or C2PA claim signing)") from None
    if not ekus & set(CLAIM_SIGNING_EKUS) or ekus & {"2.5.29.37.0"}:
        raise IdentityError(f"{where}: the signing certificate's extended key usage {sorted(ekus)} is not one "
                            "c2pa accepts (emailProtection, documentSigning or C2PA claim signing)")
    try:
        ext.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        raise IdentityError(f"{where}: the signing certificate has no authority key identifier") from None
    return leaf


def _check_time(not_before: dt.datetime, not_after: dt.datetime, now: dt.datetime | None, what: str) -> None:
    now = now or dt.datetime.now(dt.timezone.utc)
    if now < not_before:
        raise IdentityError(f"{what} is not valid before {not_before:%Y-%m-%d %H:%M} UTC")
    if now > not_after:
        raise IdentityError(f"{what} expired on {not_after:%Y-%m-%d %H:%M} UTC")


def _parse_chain(chain_pem: bytes, where: str) -> list:
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError:
        raise IdentityError(f"{where}: not a PEM certificate chain") from None
    if not certs:
        raise IdentityError(f"{where}: no certificate in the chain")
    return certs


def _load_key(key_pem: bytes, where):
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise IdentityError(f"{where}: the private key is encrypted (c2pa needs an unencrypted PEM key)") from None
    except (ValueError, serialization.UnsupportedAlgorithm):
        raise IdentityError(f"{where}: not a PEM private key") from None


def _alg_for_key(key) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(key.curve.name, key.curve.name)
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    return type(key).__name__


# ----------------------------------------------------------------------------- making files


def _new_key(alg: str):
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if alg == "es256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "es384":
        return ec.generate_private_key(ec.SECP384R1())
    if alg == "ps256":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    return ed25519.Ed25519PrivateKey.generate()


def _cert_hash(alg: str):
    from cryptography.hazmat.primitives import hashes

    return {"es256": hashes.SHA256(), "es384": hashes.SHA384(), "ps256": hashes.SHA256()}.get(alg)  # None: Ed25519


def _generate_files(alg: str, common_name: str) -> dict[str, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)
    org = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "framemark")
    ca_key, leaf_key = _new_key(alg), _new_key(alg)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{common_name} root CA"), org])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - BACKDATE).not_valid_after(now + dt.timedelta(days=CA_DAYS))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, _cert_hash(alg)))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name), org]))
            .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, _cert_hash(alg)))
    pem = serialization.Encoding.PEM

    def key_bytes(k) -> bytes:
        return k.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    ca_pem, leaf_pem = ca.public_bytes(pem), leaf.public_bytes(pem)
    return {
        CA_FILE: ca_pem, CA_KEY_FILE: key_bytes(ca_key),
        SIGNER_FILE: leaf_pem + ca_pem, SIGNER_KEY_FILE: key_bytes(leaf_key),
        IDENTITY_FILE: _meta(alg, leaf, ca, imported=False),
    }


def _import_files(cert: Path, key: Path, alg: str) -> dict[str, bytes]:
    from cryptography.hazmat.primitives import serialization

    for p in (cert, key):
        if not p.is_file():
            raise IdentityError(f"{p}: no such file")
    chain_pem, key_pem = cert.read_bytes(), key.read_bytes()
    certs = _parse_chain(chain_pem, str(cert))
    # the key decides the algorithm when the caller left the default and it does not fit
    key_alg = _alg_for_key(_load_key(key_pem, str(key)))
    if key_alg != alg and alg == "es256":
        alg = key_alg
    if alg not in ALGORITHMS:
        raise IdentityError(f"{key}: unsupported key type {key_alg}")
    _check_pems(chain_pem, key_pem, alg, where=str(cert))
    pem = serialization.Encoding.PEM
    files = {SIGNER_FILE: b"".join(c.public_bytes(pem) for c in certs),
             SIGNER_KEY_FILE: _load_key(key_pem, str(key)).private_bytes(
                 pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())}
    root = certs[-1] if len(certs) > 1 and certs[-1].subject == certs[-1].issuer else None
    if root is not None:
        files[CA_FILE] = root.public_bytes(pem)  # a trust anchor for our own verify; no CA key
    files[IDENTITY_FILE] = _meta(alg, certs[0], root, imported=True)
    return files


def _meta(alg: str, leaf, ca, imported: bool) -> bytes:
    return (json.dumps({
        "alg": alg, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "imported": imported, "signer_sha256": _fingerprint(leaf), "ca_sha256": _fingerprint(ca) if ca else None,
        "common_name": _name_attr(leaf.subject),
    }, indent=2) + "\n").encode()


def _read_meta(kd: Path) -> dict:
    try:
        return json.loads((kd / IDENTITY_FILE).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        raise IdentityError(f"{kd / IDENTITY_FILE} is unreadable (re-create with `framemark keys init --force`)") \
            from None


def _default_common_name() -> str:
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = "user"
    return f"framemark signer ({user}@{socket.gethostname()})"[:64]


def _name_attr(name) -> str:
    from cryptography.x509.oid import NameOID

    cn = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cn[0].value) if cn else name.rfc4514_string()


def _fingerprint(cert) -> str:
    from cryptography.hazmat.primitives import hashes

    return cert.fingerprint(hashes.SHA256()).hex()


def _key_id(path: Path) -> str:
    import hashlib

    return hashlib.sha256(b"framemark watermark key id\0" + path.read_bytes()).hexdigest()[:16]


def ensure_identity(keys_dir=None) -> tuple[Identity, bool]:
    """The identity in ``keys_dir`` (default folder rules), created when there is none.

    Returns ``(identity, created)``. An existing identity is never replaced."""
    kd = resolve_keys_dir(keys_dir)
    if not (kd / SIGNER_FILE).exists() and not (kd / IDENTITY_FILE).exists():
        return init_identity(kd), True
    return load_identity(kd), False
