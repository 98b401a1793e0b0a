"""Fixtures for the report/seal/signing/archive tests.

Everything expensive (RSA 3072 seals, a rendered and a sealed multi-page report) is
built once per package.  A package-scoped autouse guard makes any network connection
attempt an error — WeasyPrint must never fetch anything — and a per-test check turns
a swallowed attempt (WeasyPrint catches fetcher exceptions) into a test failure.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

REQUIRE_ALL = os.environ.get("KONSEKVENS_REQUIRE_ALL") == "1"
SEAL_PASSPHRASE = b"korrekt h\xc3\xa4st"
STAMP_LINES = ["Granskad och godkänd", "Åsa Öberg, dataskyddsombud", "2026-11-21 14:05 CET"]

_connection_attempts: list[str] = []


class NetworkAccessAttempted(BaseException):
    """BaseException so that WeasyPrint's `except Exception` cannot swallow it."""


def _refuse(kind):
    def refuse(*args, **kwargs):
        _connection_attempts.append(f"{kind} {args!r}")
        raise NetworkAccessAttempted(f"network access attempted: {kind} {args!r}")

    return refuse


@pytest.fixture(scope="package", autouse=True)
def _no_network():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _refuse("socket.connect"))
        mp.setattr(socket.socket, "connect_ex", _refuse("socket.connect_ex"))
        mp.setattr(socket, "create_connection", _refuse("create_connection"))
        mp.setattr(socket, "getaddrinfo", _refuse("getaddrinfo"))
        yield


@pytest.fixture(autouse=True)
def _assert_no_network_attempt(_no_network):
    _connection_attempts.clear()
    yield
    assert not _connection_attempts, f"network access attempted: {_connection_attempts}"


def tool(name: str) -> str:
    """Path of a poppler/qpdf tool; skip locally, fail in CI (KONSEKVENS_REQUIRE_ALL=1)."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (apt-get install poppler-utils qpdf)"
        if REQUIRE_ALL:
            pytest.fail(f"required in CI but missing: {reason}")
        pytest.skip(reason)
    return path


def run_tool(name: str, *args: str | Path) -> str:
    result = subprocess.run(
        [tool(name), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"{name} failed: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="package")
def seal_files(tmp_path_factory) -> dict[str, Path]:
    from assessments.report.seal import create_self_signed_seal

    directory = tmp_path_factory.mktemp("report-seals")
    paths = {"main": directory / "main" / "seal.p12", "other": directory / "other.p12"}
    create_self_signed_seal(
        paths["main"], organisation_name="Exempelby kommun", passphrase=SEAL_PASSPHRASE
    )
    create_self_signed_seal(paths["other"], organisation_name="Annan Myndighet")
    return paths


@pytest.fixture(scope="package")
def seal(seal_files):
    from assessments.report.seal import load_seal

    return load_seal(seal_files["main"], SEAL_PASSPHRASE)


@pytest.fixture(scope="package")
def other_seal(seal_files):
    from assessments.report.seal import load_seal

    return load_seal(seal_files["other"])


def report_html(paragraphs: int = 120, *, signature_field: bool = True) -> str:
    body = "\n".join(
        f"<p>Stycke {i}: personuppgifter om användare behandlas på plattformen — "
        f"paragraph {i} in English.</p>"
        for i in range(paragraphs)
    )
    field = '<div id="signature-field" style="height:30mm;width:80mm"></div>' if signature_field else ""
    return f"""<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8"><title>Konsekvensbedömning</title>
<link rel="stylesheet" href="report.css"></head>
<body><h1>Konsekvensbedömning – Exempelby kommun</h1>
<table><tr><th>Fråga</th><th>Svar</th></tr><tr><td>Ändamål</td><td>Öppen dialog</td></tr></table>
{body}
{field}
</body></html>"""


ANSWERS_JSON = '{"svar": "Ja, åäöÅÄÖ", "answers": [1, 2, 3]}'.encode()


@pytest.fixture(scope="package")
def rendered():
    from assessments.report.pdf import render_pdf

    return render_pdf(
        report_html(), record_json=ANSWERS_JSON, title="Konsekvensbedömning – Exempelby", lang="sv"
    )


@pytest.fixture(scope="package")
def signed(rendered, seal) -> bytes:
    from assessments.report.signing import sign_pdf

    return sign_pdf(
        rendered.data,
        seal,
        box=rendered.signature_box,
        stamp_lines=STAMP_LINES,
        reason="Granskad och godkänd",
        name="Åsa Öberg",
        location="Exempelby",
    )
