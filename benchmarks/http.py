"""HTTP benchmark: a wizard step (GET + POST) under gunicorn, against the floor of the same stack.

A real instance in a temporary directory (benchmarks/load.py): a migrated database, the demo organisations
with real (scrypt) password hashes and seals, CSRF on, one draft of the municipality's demo assessment per
virtual client (the optimistic lock bumps an assessment's version on every save, so clients must not share
one). Each virtual client logs in once (GET /login, POST /login with the CSRF token) and keeps its cookies.

Two loads, one after the other, on the same server:

* the floor: every client GETs ``/account/password`` in a loop — the cheapest logged-in page (the session,
  the user's one query, a small form, the base template): what the stack costs for any page;
* the step: every client GETs the per-platform step (Facebook and Instagram, 34 questions), then POSTs a
  save of the whole step with one answer changed, the CSRF token and the ``version`` the GET showed. A save
  must answer 302 to the next step; anything else (409 stale, 400, 5xx) stops the benchmark, so every
  counted POST is a real save.

The same on a SQLite file and on a PostgreSQL database of its own (made on the local server, or the one
``BENCH_POSTGRES_URL`` names, and dropped after), each with 2 and with 4 sync workers. The server CPU per
request is the workers' (and, on PostgreSQL, the database server's own processes', reported apart) over the
measured window divided by the requests completed in it: the ratio step / floor says what the step's own
work costs, on any machine. A minimal Flask app (benchmarks/hello.py) under the same server and load shows
what the load generator, which shares the cores, can drive at all.

Run alone: ``.venv/bin/python -m benchmarks.http`` (BENCH_HTTP_RUNS, default 3, and BENCH_HTTP_SECONDS, default
5, override the defaults).
"""
from __future__ import annotations

import asyncio
import math
import os
import statistics
import tempfile
from pathlib import Path

from benchmarks.load import (
    Client,
    Server,
    Unavailable,
    UnexpectedResponse,
    drive,
    environment,
    instance_environment,
    postgres_backends_cpu_seconds,
    request,
    step_fields,
    temporary_postgres,
)

CLIENTS = 16
WARMUP = 2.0  # seconds of load before each measured window: workers loaded, templates compiled, caches warm
DURATION = float(os.environ.get("BENCH_HTTP_SECONDS", "5"))
STEP = "platform"  # the largest step: 17 questions for each of the demo's two platforms
EDITED_FIELD = "transfer_mapping__facebook"  # a long-text answer each save changes (audited)
FLOOR_PATH = "/account/password"
TARGET_P99 = 0.100
WORKER_COUNTS = (2, 4)
DATABASES = ("SQLite", "PostgreSQL")


def prepare_instance(env: dict[str, str]) -> list[int]:
    """What ``flask init`` does (migrations, demo organisations, users, seals), then one demo draft per
    client. Returns the drafts' ids."""
    from flask_migrate import upgrade

    from assessments import create_app
    from assessments.demo import create_demo_assessment, create_demo_organisations
    from assessments.extensions import db

    with environment(env):
        app = create_app()
        with app.app_context(), app.test_request_context():
            upgrade()
            create_demo_organisations(Path(app.config["SEAL_DIR"]), app.config["DEMO_PASSWORD"])
            ids = []
            for n in range(CLIENTS):
                assessment = create_demo_assessment("exempelkommun-2")
                assessment.title = f"{assessment.title} – belastningstest {n + 1}"
                ids.append(assessment.id)
            db.session.commit()
            db.engine.dispose()
    return ids


def measure_hello(port: int, duration: float, cpu_probe) -> dict:
    async def one_round(_index, record, loop):
        began = loop.time()
        status, _, body = await request(port, b"GET", b"/")
        if status != 200 or body != b"Hello, World!":
            raise UnexpectedResponse(f"hello: {status}")
        record("GET", began)

    return asyncio.run(drive(CLIENTS, one_round, WARMUP, duration, cpu_probe))


def log_in(port: int, count: int) -> list[Client]:
    """Once per virtual client and server for the whole benchmark."""
    async def main() -> list[Client]:
        clients = [Client(port) for _ in range(count)]
        await asyncio.gather(*(c.login() for c in clients))
        return clients

    return asyncio.run(main())


def measure_floor(clients: list[Client], duration: float, cpu_probe) -> dict:
    async def main() -> dict:
        async def one_round(index, record, loop):
            began = loop.time()
            await clients[index].call("GET", FLOOR_PATH)
            record("GET", began)

        return await drive(len(clients), one_round, WARMUP, duration, cpu_probe)

    return asyncio.run(main())


def measure_step(clients: list[Client], assessment_ids: list[int], saves: list[int], duration: float,
                 cpu_probe) -> dict:
    async def main() -> dict:
        async def one_round(index, record, loop):
            client, path = clients[index], f"/assessments/{assessment_ids[index]}/steps/{STEP}"
            began = loop.time()
            _, page = await client.call("GET", path)
            record("GET", began)
            fields = [(name, value) for name, value in step_fields(page) if name != EDITED_FIELD]
            saves[index] += 1
            fields += [(EDITED_FIELD, f"Kartläggning av överföringar, genomgång nr {saves[index]}."),
                       ("action", "next")]
            began = loop.time()
            headers, _ = await client.call("POST", path, fields, expect=302)
            record("POST", began)
            if not headers["location"][0].endswith("/steps/images"):
                raise UnexpectedResponse(f"save did not continue to the next step: {headers['location']}")

        return await drive(len(clients), one_round, WARMUP, duration, cpu_probe)

    return asyncio.run(main())


def measure_database(name: str, database_url: str | None, tmp: Path, runs: int, duration: float,
                     hello: Server | None) -> dict:
    """Both worker counts on one database; the hello app, when given, measured alongside the first."""
    env = instance_environment(tmp, database_url)
    ids = prepare_instance(env)
    result: dict = {}
    for workers in WORKER_COUNTS:
        log = tmp / f"ours-{name}-{workers}.log"
        with Server("app:app", env, log, "/login", workers) as ours:
            def probe(server: Server = ours) -> dict[str, float]:
                found = {"app": server.cpu_seconds()}
                if database_url:
                    found["database"] = postgres_backends_cpu_seconds(database_url)
                return found

            try:
                clients, saves = log_in(ours.port, len(ids)), [0] * len(ids)
                floors, steps, hellos = [], [], []
                for _ in range(runs):
                    if hello is not None and workers == WORKER_COUNTS[0]:
                        hellos.append(measure_hello(hello.port, duration,
                                                    lambda: {"app": hello.cpu_seconds()}))
                    floors.append(measure_floor(clients, duration, probe))
                    steps.append(measure_step(clients, ids, saves, duration, probe))
            except UnexpectedResponse as exc:
                raise RuntimeError(f"{exc}\n--- gunicorn log ---\n{log.read_text(errors='replace')[-3000:]}") \
                    from exc
        result[workers] = {"floor": floors, "step": steps}
        if hellos:
            result["hello"] = hellos
    return result


def measure(runs: int = 5) -> dict:
    duration = DURATION
    result: dict = {"runs": runs, "duration": duration, "clients": CLIENTS}
    with tempfile.TemporaryDirectory(prefix="konsekvens-http-") as tmp:
        tmp_path = Path(tmp)
        with Server("benchmarks.hello:app", {}, tmp_path / "hello.log", "/", WORKER_COUNTS[0]) as hello:
            (tmp_path / "sqlite").mkdir()
            result["SQLite"] = measure_database("SQLite", None, tmp_path / "sqlite", runs, duration, hello)
        result["hello"] = result["SQLite"].pop("hello")
        (tmp_path / "postgres").mkdir()
        try:
            with temporary_postgres() as url:
                result["PostgreSQL"] = measure_database("PostgreSQL", url, tmp_path / "postgres", runs, duration,
                                                        None)
        except Unavailable as exc:
            result["PostgreSQL"] = str(exc)
    return result


# --- the summary ------------------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else float("nan")


def _cpu(runs: list[dict], name: str = "app") -> list[float]:
    return [r["server_cpu"][name] for r in runs if name in r.get("server_cpu", {})]


def columns(result: dict) -> list[tuple[str, dict]]:
    return [(f"{db} -w {workers}", result[db][workers]) for db in DATABASES if isinstance(result.get(db), dict)
            for workers in WORKER_COUNTS]


def summary(result: dict) -> list[str]:
    cols = columns(result)
    ms = lambda x: f"{x * 1000:.0f}" if math.isfinite(x) else "–"  # noqa: E731
    ms2 = lambda x: f"{x * 1000:.2f}" if math.isfinite(x) else "–"  # noqa: E731

    def row(label: str, values) -> str:
        return f"| {label} | " + " | ".join(values) + " |"

    def spread(runs: list[float], fmt) -> str:
        runs = [r for r in runs if math.isfinite(r)]
        if not runs:
            return "–"
        return f"{fmt(statistics.median(runs))} ({fmt(min(runs))}–{fmt(max(runs))})"

    rate = lambda x: f"{x:.0f}"  # noqa: E731
    lines = [row("measure", [name for name, _ in cols]), "|---|" + "---|" * len(cols)]
    for label, load, key, fmt in (
            ("floor page, requests/s", "floor", "rps", rate), ("floor page, p50 (ms)", "floor", "p50", ms),
            ("floor page, p99 (ms)", "floor", "p99", ms),
            ("step GET + POST, requests/s", "step", "rps", rate), ("step, p50 (ms)", "step", "p50", ms),
            ("step, p99 (ms)", "step", "p99", ms)):
        lines.append(row(label, [spread([r[key] for r in c[load]], fmt) for _, c in cols]))
    for label, kind in (("GET step", "GET"), ("POST save", "POST")):
        for key in ("p50", "p99"):
            lines.append(row(f"{label}, {key} (ms)", [spread([r[kind][key] for r in c["step"] if kind in r], ms)
                                                      for _, c in cols]))
    lines.append(row("server CPU per request, floor (ms)", [spread(_cpu(c["floor"]), ms2) for _, c in cols]))
    lines.append(row("server CPU per request, step GET/POST (ms)", [spread(_cpu(c["step"]), ms2) for _, c in cols]))
    lines.append(row("**ratio step / floor (server CPU)**",
                     [f"**{_median(_cpu(c['step'])) / _median(_cpu(c['floor'])):.2f}**" for _, c in cols]))
    if any(_cpu(c["step"], "database") for _, c in cols):
        lines.append(row("PostgreSQL's own CPU per request, floor / step (ms)",
                         [f"{ms2(_median(_cpu(c['floor'], 'database')))} / {ms2(_median(_cpu(c['step'], 'database')))}"
                          if _cpu(c["step"], "database") else "–" for _, c in cols]))
    hello = result["hello"]
    lines += ["",
              f"For scale, a minimal Flask app under gunicorn -w {WORKER_COUNTS[0]} and the same load: "
              f"{rate(_median([h['rps'] for h in hello]))} requests/s, p99 {ms(_median([h['p99'] for h in hello]))} ms, "
              f"{ms2(_median(_cpu(hello)))} ms of server CPU per request (the load generator, on the same cores, "
              "limits it).", ""]
    if isinstance(result.get("PostgreSQL"), str):
        lines += [f"PostgreSQL: not measured — {result['PostgreSQL']}.", ""]
    lines += [f"{result['clients']} concurrent clients, gunicorn sync workers, {result['duration']:.0f} s measured "
              f"after {WARMUP:.0f} s warm-up, {result['runs']} runs of each load (median, and the spread over the "
              "runs in brackets); the load generator (asyncio, one connection per request) runs on the same cores "
              f"as the servers and the database ({os.cpu_count()} cores).", ""]
    verdicts = []
    for name, c in cols:
        p99 = _median([r["p99"] for r in c["step"]])
        rps = _median([r["rps"] for r in c["step"]])
        verdicts.append(f"{name} **{'met' if p99 < TARGET_P99 else 'NOT met'}** ({ms(p99)} ms; "
                        f"{result['clients']} clients / {rps:.0f} requests/s = {result['clients'] / rps * 1000:.0f} ms "
                        "average)")
    lines += [f"Target: p99 < {TARGET_P99 * 1000:.0f} ms at {result['clients']} clients — " + "; ".join(verdicts) + ".",
              "",
              "Reading: the clients wait in a closed loop, so by Little's law the average time a request takes is the "
              "number of clients divided by the requests served per second — queueing for the cores, not the "
              "step's own time (its CPU is the row above). The p99 is the tail of that queue: on this machine it "
              "falls only by serving more requests per second, i.e. by less CPU per request."]
    return lines


if __name__ == "__main__":
    runs = int(os.environ.get("BENCH_HTTP_RUNS", "3"))
    print("\n".join(summary(measure(runs))))
