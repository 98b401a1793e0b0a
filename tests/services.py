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
