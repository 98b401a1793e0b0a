"""The organisation's electronic seal (e-sigill): a key and certificate in a PKCS#12 file.

A real deployment would use a qualified seal certificate issued by a trust service
provider (eIDAS art. 35–40); :func:`create_self_signed_seal` makes a demo seal with the
same shape so the whole chain (sign → verify) can be exercised offline.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import pem
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

__all__ = [
    "Seal",
    "SealError",
    "create_self_signed_seal",
    "load_certificate",
    "load_seal",
]

# 3072-bit RSA: ~128-bit security (BSI TR-02102-1, ETSI TS 119 312), and RSA keeps the
# seal usable with pyHanko's DummyTimeStamper in tests (it only supports RSA).
RSA_KEY_SIZE = 3072
MIN_RSA_KEY_SIZE = 2048
VALIDITY = dt.timedelta(days=3653)  # ten years, including leap days


class SealError(Exception):
    """The seal cannot be used.  ``code`` is stable and meant for translation:

    ``missing`` (no file), ``unreadable`` (not a PKCS#12 file / I/O error),
    ``wrong_passphrase``, ``unsuitable`` (no key or certificate, key usage lacks
    non-repudiation, outside the validity period, weak or mismatched key).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _CachedKeySigner(SimpleSigner):
    """``SimpleSigner`` that keeps the parsed private key.

    pyHanko 0.38 re-parses the PKCS#8 key on every ``sign_raw`` and does so twice per
    document (a dry run to size the /Contents placeholder, then the real signature);
    for RSA 3072 the key-consistency check alone costs ~0.1 s each time.
    """

    def __init__(self, *, private_key, **kwargs) -> None:
        super().__init__(**kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            algorithm = mechanism.signature_algo
        except ValueError:
            algorithm = mechanism["algorithm"].native
        key = self._private_key
        hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
        if algorithm == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, PKCS1v15(), hash_algorithm)
        if algorithm == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(hash_algorithm))
        return super().sign_raw(data, digest_algorithm)  # e.g. RSASSA-PSS: pyHanko's path


@dataclass(frozen=True)
class Seal:
    signer: SimpleSigner
    certificate: asn1_x509.Certificate
    subject_name: str


def create_self_signed_seal(
    path: Path,
    *,
    organisation_name: str,
    passphrase: bytes | None = None,
    overwrite: bool = False,
) -> None:
    """Write a new self-signed demo seal (PKCS#12, mode 0600) to ``path``.

    Refuses to replace an existing file unless ``overwrite`` is true: losing the old
    key would make earlier seals unverifiable against a configured trust root.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(errno.EEXIST, "A seal file already exists", str(path))
    organisation_name = organisation_name.strip()
    if not organisation_name:
        raise ValueError("organisation_name must not be empty")

    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
    # Language-neutral: the name is printed in Swedish and English reports alike.
    common_name = f"{organisation_name} (DEMO)"
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation_name),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
        .not_valid_before(now - dt.timedelta(minutes=5))  # tolerate clock skew
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            # nonRepudiation (contentCommitment) is what pyHanko's validator requires by
            # default for document signatures, and what ETSI EN 319 412-3 asks of seals.
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    blob = pkcs12.serialize_key_and_certificates(
        name=common_name.encode("utf-8"),
        key=key,
        cert=certificate,
        cas=None,
        encryption_algorithm=encryption,
    )

    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600 from the start, so the key is never world-readable.
    fd, tmp_name = tempfile.mkstemp(prefix=".seal-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _read(path: Path) -> bytes:
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SealError("missing", f"The seal file {path} does not exist.") from None
    except IsADirectoryError:
        raise SealError("missing", f"The seal path {path} is a directory, not a file.") from None
    except OSError as exc:
        raise SealError("unreadable", f"The seal file {path} cannot be read: {exc.strerror}.") from exc


def _is_pkcs12(data: bytes) -> bool:
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        return pfx["version"].native == "v3" and pfx["auth_safe"]["content_type"].native in (
            "data",
            "signed_data",
        )
    except Exception:
        return False


def _open_pkcs12(path: Path, passphrase: bytes | None):
    data = _read(path)
    if not _is_pkcs12(data):
        raise SealError("unreadable", f"The seal file {path} is not a PKCS#12 (.p12/.pfx) file.")
    try:
        return pkcs12.load_key_and_certificates(data, passphrase or None)
    except (ValueError, TypeError) as exc:
        # The structure parsed as PKCS#12 above, so a failure here is the MAC check or
        # the decryption of the bags, i.e. a wrong (or missing) passphrase.
        raise SealError(
            "wrong_passphrase", f"The passphrase for the seal file {path} is wrong."
        ) from exc


def _to_asn1_cert(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _subject_name(certificate: asn1_x509.Certificate) -> str:
    subject = certificate.subject.native
    return subject.get("common_name") or certificate.subject.human_friendly


def _check_suitable(path: Path, key, certificate: x509.Certificate) -> None:
    def unsuitable(reason: str) -> SealError:
        return SealError("unsuitable", f"The seal in {path} cannot be used: {reason}.")

    if key is None:
        raise unsuitable("the file contains no private key")
    if certificate is None:
        raise unsuitable("the file contains no certificate")
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise unsuitable("the private key does not belong to the certificate")
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_KEY_SIZE:
            raise unsuitable(f"the RSA key is only {key.key_size} bits")
    elif not isinstance(key, ec.EllipticCurvePrivateKey):
        raise unsuitable("only RSA and ECDSA keys are supported")
    now = dt.datetime.now(dt.UTC)
    if now < certificate.not_valid_before_utc:
        raise unsuitable("the certificate is not valid yet")
    if now > certificate.not_valid_after_utc:
        raise unsuitable("the certificate has expired")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise unsuitable("the certificate has no key usage extension") from None
    if not usage.content_commitment:
        # PAdES validators (pyHanko by default, Adobe for "certified" seals) expect
        # nonRepudiation / contentCommitment on document signing certificates.
        raise unsuitable("the certificate lacks the non-repudiation key usage")
    if not usage.digital_signature:
        raise unsuitable("the certificate lacks the digital signature key usage")


def load_seal(path: Path, passphrase: bytes | None = None) -> Seal:
    """Load and check the seal; raises :class:`SealError` with a ``code`` on failure."""
    path = Path(path)
    key, certificate, additional = _open_pkcs12(path, passphrase)
    _check_suitable(path, key, certificate)
    signing_key = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    asn1_cert = _to_asn1_cert(certificate)
    registry = SimpleCertificateStore.from_certs(
        [asn1_cert, *(_to_asn1_cert(c) for c in additional or ())]
    )
    signer = _CachedKeySigner(
        private_key=key, signing_cert=asn1_cert, signing_key=signing_key, cert_registry=registry
    )
    return Seal(signer=signer, certificate=asn1_cert, subject_name=_subject_name(asn1_cert))


def load_certificate(path: Path, passphrase: bytes | None = None) -> asn1_x509.Certificate:
    """Return the certificate of a seal file, e.g. to use it as a verification trust root.

    Accepts the PKCS#12 seal itself, or a PEM/DER certificate file.  Unlike
    :func:`load_seal` it does not check suitability: an expired seal certificate is
    still needed to verify documents sealed while it was valid.
    """
    path = Path(path)
    data = _read(path)
    if pem.detect(data):
        try:
            type_name, _headers, der = pem.unarmor(data)
            if type_name == "CERTIFICATE":
                return asn1_x509.Certificate.load(der, strict=True)
        except Exception:
            pass
    elif not _is_pkcs12(data):
        try:
            certificate = asn1_x509.Certificate.load(data, strict=True)
            certificate.native  # force a full parse  # noqa: B018
            return certificate
        except Exception:
            pass
    _key, certificate, _additional = _open_pkcs12(path, passphrase)
    if certificate is None:
        raise SealError("unsuitable", f"The seal file {path} contains no certificate.")
    return _to_asn1_cert(certificate)
