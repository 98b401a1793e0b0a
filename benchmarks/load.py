"""What the HTTP benchmarks share: an instance of the application on a SQLite file or a PostgreSQL database of
its own, gunicorn serving it, and a small asyncio HTTP/1.1 load generator with the server's CPU probes.

The load generator has no dependency (so ``make bench`` works on a fresh clone): one connection per request
with ``Connection: close``, which is what gunicorn's sync workers do anyway. It shares the machine's cores
with the servers, which is said with the figures.
"""
from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
EMAIL = "kommunikator@exempelkommun.example"
PASSWORD = "bench-lösenord-12345"
# The server PostgreSQL benchmarks make their database on (and drop it after): BENCH_POSTGRES_URL names a
# database to connect to for that, by default the local server's "postgres" as the current user.
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg:///postgres")


# --- the instance ----------------------------------------------------------------------------------------


@contextmanager
def environment(values: dict[str, str]):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def instance_environment(tmp: Path, database_url: str | None = None) -> dict[str, str]:
    """How an operator points an instance at its storage: environment variables only (config.py). The
    database: ``database_url``, by default a SQLite file in ``tmp``."""
    return {"DATABASE_URL": database_url or f"sqlite:///{tmp / 'konsekvens.sqlite'}",
            "SECRET_KEY": "benchmark-" + "x" * 32,
            "KONSEKVENS_ARCHIVE_DIR": str(tmp / "archive"), "KONSEKVENS_SEAL_DIR": str(tmp / "seals"),
            "KONSEKVENS_DEMO_PASSWORD": PASSWORD}


@contextmanager
def temporary_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database for one benchmark, dropped after; its URL. Raises
    ``Unavailable`` when the server cannot be reached or refuses to create it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    name = f"konsekvens_bench_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        raise Unavailable(f"PostgreSQL at {make_url(POSTGRES_ADMIN_URL).render_as_string()} could not create a "
                          f"database: {str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}") from exc
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Unavailable(RuntimeError):
    """A part a benchmark needs is missing (PostgreSQL): the section says so instead of its figures."""


def postgres_backends_cpu_seconds(url: str) -> float:
    """User + system CPU of the PostgreSQL server processes serving ``url``'s database (Linux /proc): the
    database's share of a request, which the application's workers do not include."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :name "
                                     "AND pid <> pg_backend_pid()"), {"name": make_url(url).database}).scalars()
            return sum(process_cpu_seconds(pid) for pid in pids)
    finally:
        engine.dispose()


def process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``gunicorn -w WORKERS -b 127.0.0.1:PORT <app>`` with default (sync) workers, stopped on exit."""

    def __init__(self, target: str, env: dict[str, str], log: Path, ready_path: str, workers: int = 2) -> None:
        self.port = free_port()
        self.log = log
        self.workers = workers
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{self.port}", target],
            cwd=ROOT, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {target} exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                status, _, _ = asyncio.run(request(self.port, b"GET", ready_path.encode()))
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn {target} did not start: {log.read_text(errors='replace')[-2000:]}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the workers (not the master, which only supervises)."""
        return workers_cpu_seconds(self.process.pid)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- the load generator ----------------------------------------------------------------------------------


class UnexpectedResponse(RuntimeError):
    pass


async def request(port: int, method: bytes, path: bytes, cookies: dict[str, str] | None = None,
                  form: str | None = None) -> tuple[int, dict[str, list[str]], bytes]:
    """One HTTP/1.1 request on its own connection; the response is read until the server closes."""
    lines = [method + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1:%d" % port, b"Connection: close",
             b"User-Agent: konsekvens-bench"]
    if cookies:
        lines.append(b"Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()).encode())
    body = b""
    if form is not None:
        body = form.encode()
        lines += [b"Content-Type: application/x-www-form-urlencoded", b"Content-Length: %d" % len(body)]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        data = await reader.read()
    finally:
        writer.close()
    head, _, content = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    if "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
        content = dechunk(content)
    return int(status_line.split(" ", 2)[1]), headers, content


def dechunk(data: bytes) -> bytes:
    out, pos = bytearray(), 0
    while True:
        end = data.index(b"\r\n", pos)
        size = int(data[pos:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[end + 2:end + 2 + size]
        pos = end + 4 + size


class Client:
    """One virtual user: its cookies, and what it needs to post its step."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    async def call(self, method: str, path: str, form: list[tuple[str, str]] | None = None,
                   expect: int = 200) -> tuple[dict[str, list[str]], bytes]:
        status, headers, body = await request(self.port, method.encode(), path.encode(), self.cookies,
                                              urlencode(form) if form is not None else None)
        for cookie in headers.get("set-cookie", []):
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "expires=thu, 01 jan 1970" in cookie.lower() or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        if status != expect:
            raise UnexpectedResponse(f"{method} {path}: {status}, expected {expect}: "
                                     f"{body[:300].decode('utf-8', 'replace')}")
        return headers, body

    async def login(self) -> None:
        _, page = await self.call("GET", "/login")
        headers, _ = await self.call("POST", "/login", [("csrf_token", csrf_token(page)), ("email", EMAIL),
                                                        ("password", PASSWORD)], expect=302)
        if headers["location"][0].rstrip("/").endswith("/login"):
            raise UnexpectedResponse("login failed")


CSRF = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(page: bytes) -> str:
    match = CSRF.search(page)
    if match is None:
        raise UnexpectedResponse("no CSRF token in the page")
    return unescape((match.group(1) or match.group(2)).decode())


class StepForm(HTMLParser):
    """The fields a browser would submit from ``<form id="step-form">``: hidden, text and date inputs,
    checked radios and checkboxes, textareas (the wizard has no selects)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.textarea: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == "step-form"
        elif self.inside and tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button"):
                self.fields.append((a["name"], a.get("value") or ""))
        elif self.inside and tag == "textarea":
            self.textarea, self.text = a["name"], []

    def handle_data(self, data):
        if self.textarea is not None:
            self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "textarea" and self.textarea is not None:
            value = "".join(self.text)
            self.fields.append((self.textarea, value[1:] if value.startswith("\n") else value))
            self.textarea = None
        elif tag == "form":
            self.inside = False


def step_fields(page: bytes) -> list[tuple[str, str]]:
    parser = StepForm()
    parser.feed(page.decode("utf-8"))
    if not any(name == "version" for name, _ in parser.fields):
        raise UnexpectedResponse("the step page has no version field")
    return parser.fields


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))]


async def drive(clients: int, one_round, warmup: float, duration: float, cpu_probe=None) -> dict:
    """Run ``one_round(client_index, record)`` in a loop on every client; keep the latencies of requests
    that complete inside the measured window (after the warm-up, before the deadline). ``cpu_probe`` (the
    servers' CPU seconds so far, by name: the application's workers, the database's processes) is read at
    both ends of the window: CPU per request inside each."""
    loop = asyncio.get_running_loop()
    start = loop.time() + warmup
    end = start + duration
    latencies: dict[str, list[float]] = {}
    cpu: dict[str, dict[str, float]] = {}
    if cpu_probe is not None:
        loop.call_at(start, lambda: cpu.__setitem__("start", cpu_probe()))
        loop.call_at(end, lambda: cpu.__setitem__("end", cpu_probe()))

    def record(kind: str, began: float) -> None:
        done = loop.time()
        if start <= done <= end:
            latencies.setdefault(kind, []).append(done - began)

    async def worker(index: int) -> None:
        while loop.time() < end:
            await one_round(index, record, loop)

    await asyncio.gather(*(worker(i) for i in range(clients)))
    every = sorted(x for xs in latencies.values() for x in xs)
    result = {"rps": len(every) / duration, "p50": percentile(every, 0.50), "p99": percentile(every, 0.99),
              "requests": len(every)}
    if len(cpu) == 2 and every:
        result["server_cpu"] = {name: (cpu["end"][name] - cpu["start"][name]) / len(every) for name in cpu["end"]}
    for kind, xs in latencies.items():
        xs.sort()
        result[kind] = {"p50": percentile(xs, 0.50), "p99": percentile(xs, 0.99), "count": len(xs)}
    return result


def workers_cpu_seconds(master_pid: int) -> float:
    """User + system CPU of the gunicorn master's worker processes (Linux /proc)."""
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    except OSError:
        return float("nan")
    return sum(process_cpu_seconds(int(child)) for child in children)
