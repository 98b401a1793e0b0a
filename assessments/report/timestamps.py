"""RFC 3161 signature timestamps from a time-stamping authority (TSA): PAdES B-B becomes B-T.

A signature timestamp proves the seal existed at the TSA's time, independent of the server's clock
(ETSI EN 319 142-1 §5.3, "signature-time-stamp").  The authority is configured with ``TSA_URL``
(environment ``KONSEKVENS_TSA_URL``); without it seals carry no timestamp, as before.

pyHanko's ``HTTPTimeStamper`` only checks the response's status and nonce.  :class:`CheckedTimeStamper`
also checks what it got back before pyHanko embeds it: a CMS SignedData over a TSTInfo whose message
imprint is the digest we asked about and whose signature verifies with the certificate the TSA sent.
Every failure — refused connection, timeout, HTTP error, wrong content type, bytes that are not
RFC 3161, a refusal, a token for another digest — is raised as :class:`TimestampUnavailable`, so the
caller can tell "the TSA failed" from "sealing failed" (``signing.TimestampError``).

Whether the TSA is *trusted* is not decided here: configuring its URL is that decision, and a verifier
checks the token against its own trust list.
"""
from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from asn1crypto import cms, core, tsp
from cryptography.hazmat.primitives import hashes
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper, TimestampRequestError
from pyhanko.sign.validation.generic_cms import extract_certs_for_validation, validate_sig_integrity
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

__all__ = ["TSA_TIMEOUT", "CheckedTimeStamper", "TimestampUnavailable", "check_token", "timestamper_from_config"]

# Seconds for the whole exchange with the TSA (connect, send, answer).  Signing asks twice (once with
# a dummy digest to size the signature, once for real) while the approval holds the assessment's row
# lock, so a hanging authority delays approval by at most about twice this, then fails cleanly.
TSA_TIMEOUT = 10


class TimestampUnavailable(TimestampRequestError):
    """No usable timestamp token from the TSA; the message is an English sentence for the log."""


def check_token(token: cms.ContentInfo, message_digest: bytes, md_algorithm: str) -> None:
    """Raise :class:`TimestampUnavailable` unless ``token`` is a signed RFC 3161 token for ``message_digest``."""
    if token["content_type"].native != "signed_data":
        raise TimestampUnavailable("The timestamp token is not a CMS SignedData structure.")
    signed_data = token["content"]
    encapsulated = signed_data["encap_content_info"]
    if encapsulated["content_type"].native != "tst_info" or not isinstance(
            encapsulated["content"], core.ParsableOctetString):
        raise TimestampUnavailable("The timestamp token does not contain a TSTInfo.")
    tst_info = encapsulated["content"].parsed
    if not isinstance(tst_info, tsp.TSTInfo):
        raise TimestampUnavailable("The timestamp token does not contain a TSTInfo.")
    imprint = tst_info["message_imprint"]
    if (imprint["hash_algorithm"]["algorithm"].native != md_algorithm
            or imprint["hashed_message"].native != message_digest):
        raise TimestampUnavailable("The timestamp token is for a different digest than the one requested.")
    if tst_info["gen_time"].native is None:
        raise TimestampUnavailable("The timestamp token has no time.")
    signer_info = signed_data["signer_infos"][0]
    certificate = extract_certs_for_validation(signed_data).signer_cert
    digest = hashes.Hash(get_pyca_cryptography_hash(signer_info["digest_algorithm"]["algorithm"].native))
    digest.update(bytes(encapsulated["content"]))
    content_digest = digest.finalize()
    intact, valid = validate_sig_integrity(signer_info, certificate, expected_content_type="tst_info",
                                           actual_digest=content_digest)
    if not (intact and valid):
        raise TimestampUnavailable("The timestamp token's signature does not verify with the TSA certificate.")


def display_url(url: str) -> str:
    """The URL without any ``user:password@`` part, for messages and logs."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "(malformed TSA_URL)"


class CheckedTimeStamper(HTTPTimeStamper):
    """pyHanko's HTTP timestamp client with a bounded timeout and a checked answer."""

    def __init__(self, url: str, *, timeout: float = TSA_TIMEOUT) -> None:
        super().__init__(url, timeout=timeout)

    async def async_timestamp(self, message_digest, md_algorithm) -> cms.ContentInfo:
        try:
            token = await super().async_timestamp(message_digest, md_algorithm)
            check_token(token, message_digest, md_algorithm)
        except TimestampUnavailable:
            raise
        except TimestampRequestError as exc:  # connection, timeout, HTTP status, content type, refusal, nonce
            cause = exc.__cause__
            detail = f" ({str(cause) or type(cause).__name__})" if cause is not None else ""
            raise TimestampUnavailable(
                f"The time-stamping authority {display_url(self.url)} failed: {exc}{detail}") from exc
        except Exception as exc:  # asn1crypto raises ValueError/TypeError/… on bytes that are not RFC 3161
            raise TimestampUnavailable(
                f"The time-stamping authority {display_url(self.url)} sent an answer that is not a valid "
                f"RFC 3161 response: {exc!r}") from exc
        return token


def timestamper_from_config(config: Mapping) -> TimeStamper | None:
    """The timestamper for ``TSA_URL``, or None when no authority is configured.  A malformed URL is
    not refused here: it fails at signing time like an unreachable authority, with the same message."""
    url = (config.get("TSA_URL") or "").strip()
    return CheckedTimeStamper(url) if url else None
