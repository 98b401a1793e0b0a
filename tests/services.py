"""Real servers the tests start and stop themselves: Redis (the shared throttle store), gunicorn nodes and a
reverse proxy (tests/test_multinode.py). Each runs as its own process on a free port of 127.0.0.1, with its
files in the test's temporary directory, so a test may stop (SIGSTOP) or kill one without touching anything
else on the machine. A missing program skips locally and fails in CI (``tests.conftest.require``).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import require

START_TIMEOUT = 60  # seconds; gunicorn imports the whole application in every worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""


class Process:
    """A child process with its output in a log file; ``stop`` ends it (after SIGCONT, in case it was
    stopped) and waits for it."""

    def __init__(self, args: list[str], log: Path, **popen) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **popen)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def stop(self, timeout: float = 15) -> None:
        if not self.running():
            return
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class RedisServer(Process):
    """Debian's redis-server, without persistence, on a free port."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server is not installed (apt-get install redis-server)")
        require(importlib.util.find_spec("redis") is not None,
                "the redis client library is not installed (pip install -e '.[test]')")
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        super().__init__([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", str(directory)], directory / "redis.log")
        import redis

        self.client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, socket_connect_timeout=5)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                if not self.running() or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not start: {tail(self.log)}") from None
                time.sleep(0.05)

    def keys(self) -> list[bytes]:
        return sorted(self.client.keys("*"))

    def stop(self, timeout: float = 15) -> None:
        self.client.close()
        super().stop(timeout)


# -- gunicorn nodes ------------------------------------------------------------------------------------


def http_status(port: int, path: str = "/login") -> int | None:
    """The status of a plain GET straight to a node, or None while nothing answers."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


class GunicornNode(Process):
    """One application node as the README runs it: ``gunicorn -w 2`` (sync workers) on a port of its own,
    configured through the environment only, with an instance folder of its own (another machine)."""

    def __init__(self, name: str, directory: Path, environment: dict[str, str], workers: int = 2) -> None:
        from assessments import PROJECT_ROOT

        self.name, self.port = name, free_port()
        instance = directory / f"instance-{name}"
        instance.mkdir(parents=True, exist_ok=True)
        # The factory form of the application (gunicorn documentation, "Running Gunicorn"): app.py's
        # create_app() with this node's instance folder instead of the checkout's instance/.
        target = f"assessments:create_app(instance_path={str(instance)!r})"
        super().__init__([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
                          "--graceful-timeout", "5", target],
                         directory / f"gunicorn-{name}.log", cwd=PROJECT_ROOT, env=environment)

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while http_status(self.port) != 200:
            if not self.running() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn node {self.name} did not start: {tail(self.log)}")
            time.sleep(0.2)

    def workers(self) -> list[int]:
        """The master's worker processes (Linux /proc)."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in children]


# -- the reverse proxy ---------------------------------------------------------------------------------


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost (the proxy's), and its key, as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "proxy.crt", directory / "proxy.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


# What the README's Operations section asks of the proxy: it terminates TLS, sends plain HTTP on to the
# nodes, and sets the X-Forwarded-* headers itself (nginx documentation, ngx_http_proxy_module:
# proxy_set_header; $proxy_add_x_forwarded_for appends the client's address to what the client sent, and
# the application, trusting one proxy, takes only that last entry). Host keeps the port the browser used,
# which Flask-WTF's referrer check on HTTPS compares with.
PROXY_HEADERS = """
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_read_timeout 120s;
"""


class Nginx(Process):
    """nginx in front of the nodes: one HTTPS port balancing over all of them (``port``), one HTTPS port per
    node (``node_ports[name]``, so a test can choose the node), and plain HTTP (``http_port``) that only
    redirects to HTTPS."""

    def __init__(self, directory: Path, nodes: dict[str, int]) -> None:
        binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
        require(binary is not None, "nginx is not installed (apt-get install nginx)")
        directory.mkdir(parents=True, exist_ok=True)
        self.certificate, key = self_signed_certificate(directory)
        self.port, self.http_port = free_port(), free_port()
        self.node_ports = {name: free_port() for name in nodes}
        tls = f"ssl_certificate {self.certificate}; ssl_certificate_key {key};"
        upstream = "\n".join(f"    server 127.0.0.1:{port};" for port in nodes.values())
        per_node = "\n".join(f"""
  server {{
    listen 127.0.0.1:{self.node_ports[name]} ssl;
    {tls}
    location / {{
      proxy_pass http://127.0.0.1:{port};{PROXY_HEADERS}    }}
  }}""" for name, port in nodes.items())
        temp = "\n".join(f"  {kind}_temp_path {directory / kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        config = directory / "nginx.conf"
        config.write_text(f"""
worker_processes 1;
pid {directory / 'nginx.pid'};
error_log {directory / 'error.log'} warn;
events {{ worker_connections 256; }}
http {{
  access_log {directory / 'access.log'};
{temp}
  client_max_body_size 6m;
  client_body_buffer_size 1m;
  proxy_buffering off;
  upstream nodes {{
{upstream}
  }}
  server {{
    listen 127.0.0.1:{self.http_port};
    return 301 https://$host:{self.port}$request_uri;
  }}
  server {{
    listen 127.0.0.1:{self.port} ssl;
    {tls}
    location / {{
      proxy_pass http://nodes;{PROXY_HEADERS}    }}
  }}{per_node}
}}
""")
        super().__init__([binary, "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(config),
                          "-g", "daemon off;"], directory / "nginx.out")
        deadline = time.monotonic() + START_TIMEOUT
        for port in (self.port, self.http_port, *self.node_ports.values()):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if not self.running() or time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"nginx did not start: {tail(self.log)} "
                                           f"{tail(directory / 'error.log')}") from None
                    time.sleep(0.05)
