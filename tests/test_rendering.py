"""The kept question HTML (assessments/rendering.py) changes nothing but the time: every step of every demo,
in both interface languages, on all seven platforms with an "other" platform named with markup characters,
with comment threads and suggestions, and re-rendered with errors, is byte for byte the page the macros
render; and a new catalogue is never served the HTML of the one before."""
from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from assessments import rendering
from assessments.answers import catalog_of
from assessments.catalog import loader
from assessments.demo import DEMO_DIR, create_demo_assessment
from assessments.extensions import db
from assessments.models import Answer
from assessments.review import add_comment
from tests.factories import KOMMUN, user

ALL_PLATFORMS = ["facebook", "instagram", "linkedin", "youtube", "tiktok", "x", "other"]
_TOKEN = re.compile(rb'name="csrf_token" value="[^"]*"')
OTHER_NAME = "Forum <&> \"chat\" 'x'"


class _Fields(HTMLParser):
    """The step form's controls as a browser would send them, with their types."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str, str]] = []  # (name, value, kind)
        self._in_form = False
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "step-form":
            self._in_form = True
        elif tag == "form":
            self._in_form = False
        if not self._in_form:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox") and "checked" not in a:
                self.fields.append((a["name"], "", kind + "-option"))
            else:
                self.fields.append((a["name"], a.get("value") or "", kind))
        elif tag == "textarea" and a.get("name") and a.get("form") is None:
            self._textarea = a["name"]
            self.fields.append((a["name"], "", "textarea"))

    def handle_data(self, data):
        if self._textarea is not None:
            name, value, kind = self.fields[-1]
            self.fields[-1] = (name, value + data, kind)

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def _fields(page: str) -> list[tuple[str, str, str]]:
    parser = _Fields()
    parser.feed(page)
    return parser.fields


def _broken(page: str) -> MultiDict:
    """The step's answers as shown, with one choice, one text and one date made invalid where the step has
    them (an unknown option, a control character, no date), and the rest as they were."""
    data, spoiled = [], set()
    for name, value, kind in _fields(page):
        if kind.endswith("-option"):
            if kind.startswith("radio") and "choice" not in spoiled and name not in {n for n, _v in data}:
                spoiled.add("choice")
                data.append((name, "<&> unknown"))
            continue
        if kind == "text" and "text" not in spoiled and "__" in name:
            spoiled.add("text")
            value = "Text\x01 <&>"
        elif kind == "date" and "date" not in spoiled:
            spoiled.add("date")
            value = "2026-13-45"
        elif kind == "textarea" and "textarea" not in spoiled:
            spoiled.add("textarea")
            value = "Svar med <b>markup</b> & \"citat\"\r\nrad två"
        data.append((name, value))
    return MultiDict([*data, ("action", "later")])


def _page(client, app, url: str, *, cached: bool, data=None) -> tuple[int, bytes]:
    app.config["QUESTION_CACHE"] = cached
    response = client.post(url, data=data) if data is not None else client.get(url)
    # The CSRF tokens carry the second they were signed in (itsdangerous): the same token, another second.
    return response.status_code, _TOKEN.sub(rb'name="csrf_token" value="TOKEN"', response.data)


def _same_cached_and_not(client, app, url: str, data=None, clear: bool = True) -> tuple[int, bytes]:
    """The page uncached, with the cache empty (filling it; unless not ``clear``) and with the cache full:
    all three the same."""
    status, uncached = _page(client, app, url, cached=False, data=data)
    if clear:
        rendering.clear()
    cold = _page(client, app, url, cached=True, data=data)
    warm = _page(client, app, url, cached=True, data=data)
    assert cold == (status, uncached), f"{url}: the first cached rendering differs: {_diff(uncached, cold[1])}"
    assert warm == (status, uncached), f"{url}: the cached rendering differs: {_diff(uncached, warm[1])}"
    return status, uncached


def _diff(a: bytes, b: bytes) -> str:
    import difflib

    return "\n".join(list(difflib.unified_diff(a.decode().split("\n"), b.decode().split("\n"), lineterm="", n=1))[:40])


@pytest.fixture
def assessments(app, demo_orgs):
    """Every demo of the municipality's organisation (every catalogue version), the other organisations'
    demos moved into it (the same answers), and the latest one on all seven platforms with a comment
    thread and the new platforms' answers left to the platform facts' suggestions."""
    with app.app_context(), app.test_request_context():
        municipality = user(f"kommunikator@{KOMMUN}").organisation_id
        ids = []
        for path in sorted(DEMO_DIR.glob("*.yaml")):
            assessment = create_demo_assessment(path.stem)
            assessment.organisation_id = municipality
            ids.append(assessment.id)
        every = create_demo_assessment("exempelkommun-3")
        every.platforms, every.other_platform_name = ALL_PLATFORMS, OTHER_NAME
        for answer in list(db.session.scalars(select(Answer).where(Answer.assessment_id == every.id,
                                                                   Answer.platform == "facebook"))):
            if answer.question_key.startswith(("account", "page")):
                continue  # left unanswered: a suggestion or nothing
            for platform in ALL_PLATFORMS[2:]:
                db.session.add(Answer(assessment_id=every.id, question_key=answer.question_key, platform=platform,
                                      value=answer.value, updated_by_id=answer.updated_by_id))
        db.session.flush()
        section = catalog_of(every).section("platform")
        question = next(q for q in section.questions if q.per_platform)
        add_comment(every, user(f"kommunikator@{KOMMUN}"), "Stämmer det här för <&>?", question=question.key,
                    platform="other")
        db.session.commit()
        ids.append(every.id)
    return ids


def test_every_step_of_every_demo_is_the_same_page_cached_and_not(app, client, auth, assessments):
    auth.login(f"kommunikator@{KOMMUN}")
    used = 0
    for language in ("sv", "en"):
        client.get(f"/language/{language}")
        for assessment_id in assessments:
            with app.app_context():
                from assessments.models import Assessment

                sections = [s.key for s in catalog_of(db.session.get(Assessment, assessment_id)).sections]
            for key in sections:
                url = f"/assessments/{assessment_id}/steps/{key}"
                status, page = _same_cached_and_not(client, app, url)
                assert status == 200
                used += sum(1 for entry in rendering._CACHE.values() if entry[2] is not None)
    assert used > 1000  # the cache was filled and used, not bypassed
    text = client.get(f"/assessments/{assessments[-1]}/steps/platform").get_data(as_text=True)
    assert "Forum &lt;&amp;&gt; &#34;chat&#34; &#39;x&#39;" in text
    assert "Stämmer det här för &lt;&amp;&gt;?" in text


def test_error_re_renders_are_the_same_page_cached_and_not(app, client, auth, assessments):
    auth.login(f"kommunikator@{KOMMUN}")
    posted = 0
    for language in ("sv", "en"):
        client.get(f"/language/{language}")
        for assessment_id in (assessments[0], assessments[-2], assessments[-1]):
            with app.app_context():
                from assessments.models import Assessment

                sections = [s.key for s in catalog_of(db.session.get(Assessment, assessment_id)).sections]
            for key in sections:
                url = f"/assessments/{assessment_id}/steps/{key}"
                app.config["QUESTION_CACHE"] = False
                data = _broken(client.get(url).get_data(as_text=True))
                if not any(("\x01" in v or v == "2026-13-45" or v == "<&> unknown") for _n, v in data.items(multi=True)):
                    continue
                status, page = _same_cached_and_not(client, app, url, data=data)
                assert status == 400, url
                posted += 1
                assert b'class="error-summary"' in page
                assert b"Svar med &lt;b&gt;markup&lt;/b&gt;" in page or b"<textarea" not in page
    assert posted >= 12


def test_a_new_catalogue_is_not_served_the_html_of_the_one_before(app, client, auth, assessments, tmp_path,
                                                                   monkeypatch):
    auth.login(f"kommunikator@{KOMMUN}")
    assessment_id = assessments[-2]  # the latest catalogue, two platforms
    with app.app_context():
        from assessments.models import Assessment

        assessment = db.session.get(Assessment, assessment_id)
        catalog = catalog_of(assessment)
        question = next(q for q in catalog.section("platform").questions if q.help and q.per_platform)
        old_help = question.help.get(assessment.language)
    url = f"/assessments/{assessment_id}/steps/platform"
    app.config["QUESTION_CACHE"] = True
    assert old_help.split("\n")[0][:40] in client.get(url).get_data(as_text=True)
    assert rendering._CACHE

    # The same catalogue id and version number with one help text changed, as a new file would be read.
    data = tmp_path / "data"
    shutil.copytree(loader.DATA_DIR, data)
    path = data / f"{catalog.id}-{catalog.version}.yaml"
    text = path.read_text(encoding="utf-8")
    marker = "Ny hjälptext i en ny katalogversion <&>."
    new_text, count = _replace_help(text, question.key, marker)
    assert count == 1
    path.write_text(new_text, encoding="utf-8")
    monkeypatch.setattr(loader, "DATA_DIR", data)
    loader.get_catalog.cache_clear()
    try:
        status, page = _same_cached_and_not(client, app, url, clear=False)  # the old catalogue's HTML kept
        assert status == 200
        assert "Ny hjälptext i en ny katalogversion &lt;&amp;&gt;.".encode() in page
        assert old_help.split("\n")[0][:40].encode() not in page
    finally:
        monkeypatch.undo()
        loader.get_catalog.cache_clear()


def _replace_help(text: str, key: str, new_help: str) -> tuple[str, int]:
    """The YAML with the first help text after ``key: <key>`` replaced by a one-line Swedish and English
    text (the catalogue format: docs in assessments/catalog/FORMAT.md)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip() in (f"key: {key}", f"- key: {key}"):
            for j in range(i + 1, len(lines)):
                stripped = lines[j].strip()
                if stripped.startswith("- key:"):
                    return text, 0
                if stripped.startswith("help:"):
                    indent = lines[j][:len(lines[j]) - len(lines[j].lstrip())]
                    end = j + 1
                    while end < len(lines) and (not lines[end].strip() or
                                                len(lines[end]) - len(lines[end].lstrip()) > len(indent)):
                        end += 1
                    lines[j:end] = [f"{indent}help:", f'{indent}  sv: "{new_help}"', f'{indent}  en: "{new_help}"']
                    return "\n".join(lines), 1
    return text, 0


def test_the_overview_is_the_same_page_cached_and_not(app, client, auth, assessments):
    """The overview renders the comment form and the empty threads once: for the author (a draft), and for
    the legal reviewer (in review: a comment form on every question, a thread on one), both languages."""
    from assessments.models import Assessment
    from assessments.workflow import submit_for_review

    with app.app_context(), app.test_request_context():
        review = db.session.get(Assessment, assessments[4])  # exempelkommun-3 (sorted by file name)
        submit_for_review(review, review.author)
        question = next(q for q in catalog_of(review).section("platform").questions if q.per_platform)
        add_comment(review, user(f"jurist@{KOMMUN}"), "Gäller det <&> även Instagram?", question=question.key,
                    platform="instagram")
        db.session.commit()
        review_id = review.id
    for email, ids in ((f"kommunikator@{KOMMUN}", assessments), (f"jurist@{KOMMUN}", [review_id])):
        auth.login(email)
        for language in ("sv", "en"):
            client.get(f"/language/{language}")
            for assessment_id in ids:
                status, page = _same_cached_and_not(client, app, f"/assessments/{assessment_id}")
                assert status == 200
        auth.logout()
    assert "Gäller det &lt;&amp;&gt; även Instagram?".encode() in page
    assert page.count(b'name="question" value="') > 30  # a comment form on every question


def test_evidence_controls_are_the_same_page_cached_and_not_with_a_file(app, client, auth, assessments):
    """A question's attach control is kept once written in the wizard step (it depends only on the question
    and the languages) and written once per request on the overview: both pages are still the ones the
    macros write, with a file listed where one is attached and the controls in the interface's language."""
    from assessments.evidence.listing import Target
    from assessments.evidence.service import attach
    from assessments.models import Assessment

    with app.app_context(), app.test_request_context():
        assessment = db.session.get(Assessment, assessments[-1])
        attach(assessment, user(f"kommunikator@{KOMMUN}"), data=b"Beslut om kanalen.",
               filename="beslut om kanalen.txt", target=Target(question_key="purposes"), relationship="Source", description=None)
        db.session.commit()
        section = next(s.key for s in catalog_of(assessment).sections
                       if any(q.key == "purposes" for q in s.questions))
    url = f"/assessments/{assessments[-1]}/steps/{section}"
    auth.login(f"kommunikator@{KOMMUN}")
    for language, label in (("sv", "Bifoga en bilaga"), ("en", "Attach evidence")):
        client.get(f"/language/{language}")
        status, page = _same_cached_and_not(client, app, url)
        assert status == 200
        assert "beslut om kanalen.txt" in page.decode()
        assert page.decode().count(f"<summary>{label}") >= 2  # every question of the step has one
        assert any(key[0] == "evidence" and key[3] == language for key in rendering._KEPT)
        # The overview: the attach form written once per request with stand-ins, filled in per question.
        status, page = _same_cached_and_not(client, app, f"/assessments/{assessments[-1]}")
        text = page.decode()
        assert status == 200 and "beslut om kanalen.txt" in text
        assert text.count(f"<summary>{label}") >= 20 and not re.search(r"konsekvens[A-Z]+mark", text)
        assert re.search(r'name="target" value="q:[a-z_]+:facebook"', text)
