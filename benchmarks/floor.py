"""In-process benchmark: what a page costs against the floor of the stack, and where the time goes.

The floor is the cheapest logged-in page (``/account/password``: the session, the user's one query, a small
form and the base template), served by the same application in the same process and the same run: its CPU
time is what Flask, Werkzeug, Flask-Login, Flask-WTF, Flask-Babel, SQLAlchemy and Jinja cost for any page,
so a page's ratio to it says what the page's own work costs, on any machine.

Each request's CPU is ``time.process_time`` around ``app.wsgi_app`` (the whole request: session, login,
view, template, teardown; not the test client's own work). A real instance in a temporary directory: a
migrated database (a SQLite file, or the PostgreSQL database ``database_url`` names), the demo
organisations with real password hashes, CSRF on. Pages:

* the per-platform step of the municipality's demo (Facebook and Instagram, 34 questions): GET, then a POST
  saving the whole step with one answer changed (a 302 to the next step, as in the HTTP benchmark);
* the same step of the same assessment on all seven platforms (the "other" one named by the assessment);
* the overview of the assessment as its author sees it (a draft) and as the legal reviewer sees it (in
  review, with a comment form on every question).

Where the time goes: the same requests again under ``cProfile``, each function's own time put in the bucket
of the library (or our module) it belongs to; time in the standard library and in built-ins (``json``,
``hashlib``, ``re`` …) goes to the bucket of the code that called it. The buckets are shares of the
profiled time, shown as milliseconds of the unprofiled median (the profiler slows call-heavy code more than
the rest, so they are an apportioning, not a second measurement).

Run alone: ``.venv/bin/python -m benchmarks.floor`` (``BENCH_FLOOR_REQUESTS`` requests per page, default 200).
"""
from __future__ import annotations

import cProfile
import os
import pstats
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import event
from werkzeug.datastructures import MultiDict

from benchmarks.http import EDITED_FIELD, STEP
from benchmarks.load import EMAIL, PASSWORD, csrf_token, environment, instance_environment, step_fields

REQUESTS = int(os.environ.get("BENCH_FLOOR_REQUESTS", "200"))
WARMUP = 20
TARGET_STEP = 2.0  # step GET and POST CPU ≤ 2 × the floor
TARGET_STEP_ALL = 3.0  # the same step on all seven platforms
ALL_PLATFORMS = ["facebook", "instagram", "linkedin", "youtube", "tiktok", "x", "other"]
REVIEWER = "jurist@exempelkommun.example"

# The bucket a file belongs to (the first prefix that matches a path fragment); see ``buckets``.
BUCKETS = (
    ("Jinja (templates, markupsafe)", ("/jinja2/", "/markupsafe/", "/templates/")),
    ("SQLAlchemy and the driver", ("/sqlalchemy/", "/flask_sqlalchemy/", "/psycopg/", "/psycopg_pool/",
                                   "sqlite3")),
    ("WTForms and Flask-WTF", ("/wtforms/", "/flask_wtf/")),
    ("Flask, Werkzeug, Flask-Login, Flask-Limiter", ("/flask/", "/werkzeug/", "/flask_login/", "/itsdangerous/",
                                                     "/flask_limiter/", "/limits/", "/blinker/")),
    ("Flask-Babel and Babel", ("/flask_babel/", "/babel/")),
    ("ours: catalogue, answers, wizard, forms", ("/assessments/catalog/", "/assessments/answers.py",
                                                 "/assessments/wizard.py", "/assessments/forms/",
                                                 "/assessments/rendering.py")),
    ("ours: risk rules", ("/assessments/risk/",)),
    ("ours: audit", ("/assessments/audit.py",)),
    ("ours: views, models, the rest", ("/assessments/",)),
)
OTHER = "other"


# --- the instance ----------------------------------------------------------------------------------------


def prepare(env: dict[str, str]):
    """The application with its database ready: demo organisations, the municipality's demo draft (two
    platforms), the same on all seven platforms, and one in review for the reviewer's overview."""
    from flask_migrate import upgrade

    from assessments import create_app
    from assessments.demo import create_demo_assessment, create_demo_organisations
    from assessments.extensions import db
    from assessments.models import Answer
    from assessments.risk.service import sync_risks
    from assessments.workflow import submit_for_review

    with environment(env):
        app = create_app()
    with app.app_context(), app.test_request_context():
        upgrade()
        create_demo_organisations(Path(app.config["SEAL_DIR"]), app.config["DEMO_PASSWORD"])
        two = create_demo_assessment("exempelkommun-2")
        every = create_demo_assessment("exempelkommun-2")
        every.title = f"{every.title} – alla plattformar"
        every.platforms, every.other_platform_name = ALL_PLATFORMS, "Mastodon <&> forum"
        for answer in list(db.session.scalars(db.select(Answer).where(Answer.assessment_id == every.id,
                                                                      Answer.platform == "facebook"))):
            for platform in ALL_PLATFORMS[2:]:
                db.session.add(Answer(assessment_id=every.id, question_key=answer.question_key, platform=platform,
                                      value=answer.value, updated_by_id=answer.updated_by_id))
        db.session.flush()
        sync_risks(every)
        review = create_demo_assessment("exempelkommun-2")
        submit_for_review(review, review.author)
        db.session.commit()
        ids = {"two": two.id, "every": every.id, "review": review.id}
    return app, ids


class Meter:
    """WSGI middleware: the process's CPU time for each request, the body read inside the window; with
    ``profiler`` set, the request runs under it (and nothing else does: not the test client, not the
    benchmark's own parsing of the page)."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app
        self.last = 0.0
        self.profiler: cProfile.Profile | None = None

    def __call__(self, environ, start_response):
        profiler = self.profiler
        began = time.process_time()
        if profiler is not None:
            profiler.enable()
        result = self.wsgi_app(environ, start_response)
        try:
            body = list(result)
        finally:
            if hasattr(result, "close"):
                result.close()
            if profiler is not None:
                profiler.disable()
        self.last = time.process_time() - began
        return body


class Queries:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args) -> None:
        self.count += 1


def login(app, email: str):
    client = app.test_client()
    page = client.get("/login").data
    response = client.post("/login", data={"csrf_token": csrf_token(page), "email": email, "password": PASSWORD})
    if response.status_code != 302 or response.headers["Location"].rstrip("/").endswith("/login"):
        raise RuntimeError(f"login as {email} failed: {response.status_code}")
    return client


class Pages:
    """The requests measured: ``ROUND`` names them in order, each a method returning its status."""

    def __init__(self, app, ids: dict[str, int]) -> None:
        self.author = login(app, EMAIL)
        self.reviewer = login(app, REVIEWER)
        self.ids = ids
        self.saves = 0
        self.pages: dict[str, bytes] = {}

    def floor(self) -> int:
        return self.author.get("/account/password").status_code

    def step_get(self, which: str) -> int:
        response = self.author.get(f"/assessments/{self.ids[which]}/steps/{STEP}")
        self.pages[which] = response.data
        return response.status_code

    def step_post(self, which: str) -> int:
        self.saves += 1
        fields = [(name, value) for name, value in step_fields(self.pages[which]) if name != EDITED_FIELD]
        fields += [(EDITED_FIELD, f"Kartläggning av överföringar, genomgång nr {self.saves}."), ("action", "next")]
        response = self.author.post(f"/assessments/{self.ids[which]}/steps/{STEP}", data=MultiDict(fields))
        if response.status_code == 302 and not response.headers["Location"].endswith("/steps/images"):
            return -1
        return response.status_code

    def overview(self, who: str) -> int:
        client, key = (self.author, "two") if who == "author" else (self.reviewer, "review")
        return client.get(f"/assessments/{self.ids[key]}").status_code


# (kind, label, request, expected status), in the order of a round.
ROUND = (
    ("floor", "floor: /account/password (logged in, one query)", Pages.floor, 200),
    ("step GET", "step GET, 2 platforms (34 questions)", lambda p: p.step_get("two"), 200),
    ("step POST", "step POST, 2 platforms (one answer changed)", lambda p: p.step_post("two"), 302),
    ("step GET, 7", "step GET, 7 platforms (103 questions)", lambda p: p.step_get("every"), 200),
    ("step POST, 7", "step POST, 7 platforms (one answer changed)", lambda p: p.step_post("every"), 302),
    ("overview", "overview, author (draft)", lambda p: p.overview("author"), 200),
    ("overview, reviewer", "overview, legal reviewer (in review)", lambda p: p.overview("reviewer"), 200),
)


def run_rounds(pages: Pages, meter: Meter, queries: Queries, count: int,
               profilers: dict[str, cProfile.Profile] | None = None) -> dict[str, dict]:
    """``count`` rounds of every page, interleaved (a busy moment of the machine hits every page alike);
    with ``profilers``, each request under its kind's profiler."""
    cpu: dict[str, list[float]] = {}
    counted: dict[str, int] = {}
    for _ in range(count):
        for kind, _label, call, expected in ROUND:
            before = queries.count
            if profilers is not None:
                # CPU time, like the measurement: a commit waiting for the disk is not work of ours.
                meter.profiler = profilers.setdefault(kind, cProfile.Profile(time.process_time))
            try:
                status = call(pages)
            finally:
                meter.profiler = None
            if status != expected:
                raise RuntimeError(f"{kind}: {status}, expected {expected}")
            cpu.setdefault(kind, []).append(meter.last)
            counted[kind] = queries.count - before
    return {kind: {"cpu": xs, "queries": counted[kind]} for kind, xs in cpu.items()}


def owners(stats: pstats.Stats) -> dict[str, float]:
    """The profiled functions' own time by bucket; time in the standard library and in built-ins goes to
    the buckets of their callers, in proportion to the time each caller spent there."""
    raw = stats.stats  # type: ignore[attr-defined]
    memo: dict = {}

    def bucket_of(func) -> str | None:
        filename, _line, name = func
        path = filename.replace("\\", "/")
        if path.endswith(".html") or path == "<template>":
            return BUCKETS[0][0]
        for bucket, fragments in BUCKETS:
            if any(fragment in path for fragment in fragments):
                return bucket
        if filename == "~" and ("sqlite3" in name or "psycopg" in name):
            return BUCKETS[1][0]
        return None

    def share(func, depth: int = 0) -> dict[str, float]:
        if func in memo:
            return memo[func]
        own = bucket_of(func)
        if own is not None or depth > 40 or func not in raw or not raw[func][4]:
            memo[func] = {own or OTHER: 1.0}
            return memo[func]
        memo[func] = {OTHER: 1.0}  # while resolving: a cycle ends here
        callers = raw[func][4]
        total = sum(entry[2] for entry in callers.values())
        result: dict[str, float] = {}
        for caller, entry in callers.items():
            weight = entry[2] / total if total else 1 / len(callers)
            for bucket, part in share(caller, depth + 1).items():
                result[bucket] = result.get(bucket, 0.0) + weight * part
        memo[func] = result
        return result

    totals: dict[str, float] = {}
    for func, (_cc, _nc, tottime, _ct, _callers) in raw.items():
        for bucket, part in share(func).items():
            totals[bucket] = totals.get(bucket, 0.0) + tottime * part
    return totals


def measure(requests: int = REQUESTS, database_url: str | None = None) -> dict:
    from assessments.extensions import db

    with tempfile.TemporaryDirectory(prefix="konsekvens-floor-") as tmp:
        env = instance_environment(Path(tmp))
        if database_url:
            env["DATABASE_URL"] = database_url
        app, ids = prepare(env)
        meter = Meter(app.wsgi_app)
        app.wsgi_app = meter  # type: ignore[method-assign]
        queries = Queries()
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", queries)
        try:
            pages = Pages(app, ids)
            run_rounds(pages, meter, queries, WARMUP)
            measured = run_rounds(pages, meter, queries, requests)
            profilers: dict[str, cProfile.Profile] = {}
            run_rounds(pages, meter, queries, max(20, requests // 4), profilers)
        finally:
            event.remove(engine, "before_cursor_execute", queries)
            with app.app_context():
                db.engine.dispose()
    profile = {}
    for kind, profiler in profilers.items():
        totals = owners(pstats.Stats(profiler))
        whole = sum(totals.values()) or 1.0
        profile[kind] = {bucket: value / whole for bucket, value in totals.items()}
    return {"requests": requests, "database": "PostgreSQL" if database_url else "SQLite",
            "pages": {kind: {"cpu": statistics.median(v["cpu"]), "min": min(v["cpu"]), "max": max(v["cpu"]),
                             "queries": v["queries"]} for kind, v in measured.items()},
            "profile": profile}


def summary(result: dict) -> list[str]:
    pages, profile = result["pages"], result["profile"]
    floor = pages["floor"]["cpu"]
    ms = lambda x: f"{x * 1000:.2f}"  # noqa: E731
    lines = ["| page | CPU, median (ms) | spread (min–max) | ratio to the floor | SQL queries |",
             "|---|---:|---:|---:|---:|"]
    for kind, label, _call, _expected in ROUND:
        page = pages[kind]
        lines.append(f"| {label} | {ms(page['cpu'])} | {ms(page['min'])}–{ms(page['max'])} | "
                     f"{page['cpu'] / floor:.2f} | {page['queries']} |")
    shown = [kind for kind, *_ in ROUND]
    buckets = [name for name, _ in BUCKETS] + [OTHER]
    lines += ["", "Where the time goes (ms of the median above, apportioned by a cProfile run of the same requests):",
              "", "| bucket | " + " | ".join(shown) + " |", "|---|" + "---:|" * len(shown)]
    for bucket in buckets:
        cells = [f"{profile[kind].get(bucket, 0.0) * pages[kind]['cpu'] * 1000:.2f}" for kind in shown]
        lines.append(f"| {bucket} | " + " | ".join(cells) + " |")
    step = max(pages["step GET"]["cpu"], pages["step POST"]["cpu"]) / floor
    every = max(pages["step GET, 7"]["cpu"], pages["step POST, 7"]["cpu"]) / floor
    verdict = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    database_note = (" PostgreSQL runs the queries in its own processes: their CPU is not in these figures (section 3 "
                     "reports it per request)." if result["database"] == "PostgreSQL" else
                     " SQLite runs the queries in this process: their CPU is in these figures.")
    lines += ["", f"{result['database']}, {result['requests']} requests of each page, interleaved, after {WARMUP} "
              "rounds of warm-up; one process, so the figures do not depend on how many cores the load gets."
              + database_note,
              "", f"Targets: step GET and POST ≤ {TARGET_STEP:.1f} × the floor — **{verdict(step <= TARGET_STEP)}** "
              f"({step:.2f} ×, the larger of the two); on all seven platforms ≤ {TARGET_STEP_ALL:.1f} × — "
              f"**{verdict(every <= TARGET_STEP_ALL)}** ({every:.2f} ×)."]
    return lines


if __name__ == "__main__":
    print("\n".join(summary(measure(int(os.environ.get("BENCH_FLOOR_REQUESTS", REQUESTS)),
                                     os.environ.get("BENCH_FLOOR_DATABASE_URL")))))
