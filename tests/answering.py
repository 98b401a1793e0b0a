"""Answer the wizard through HTTP from a demo file, so journey tests follow the catalogue as it evolves."""
from __future__ import annotations

import re

from assessments.answers import RECORDED_SECTIONS, slots
from assessments.catalog import get_catalog, latest_catalog
from assessments.demo import load_demo_assessment


def latest_demo(organisation: str = "exempelkommun") -> str:
    return f"{organisation}-{latest_catalog().version}"


def version_of(html: str) -> str:
    match = re.search(r'name="version"[^>]*value="(\d+)"', html) or re.search(
        r'value="(\d+)"[^>]*name="version"', html)
    assert match, "no version field on the page"
    return match.group(1)


def step_data(demo: str, section_key: str, platforms: list[str]) -> dict:
    """Form fields for one step: ``key`` or ``key__platform`` → the demo's answer."""
    spec = load_demo_assessment(demo)
    catalog = get_catalog(spec["catalogue"]["id"], spec["catalogue"]["version"])
    data = {}
    for slot in slots(catalog.section(section_key), platforms):
        value = spec["answers"].get(slot.question.key)
        if isinstance(value, dict):
            value = value.get(slot.platform)
        if value is not None:
            data[slot.field_name] = value
    return data


def answer_all(client, assessment_id: int, demo: str, platforms: list[str]) -> None:
    spec = load_demo_assessment(demo)
    catalog = get_catalog(spec["catalogue"]["id"], spec["catalogue"]["version"])
    for section in catalog.sections:
        url = f"/assessments/{assessment_id}/steps/{section.key}"
        page = client.get(url)
        assert page.status_code == 200, url
        if section.key in RECORDED_SECTIONS:  # kept on the consultation page, which the step links to
            assert f"/assessments/{assessment_id}/consultation" in page.get_data(as_text=True)
            continue
        response = client.post(url, data={**step_data(demo, section.key, platforms),
                                          "version": version_of(page.get_data(as_text=True)), "action": "next"})
        assert response.status_code == 302, (section.key, response.get_data(as_text=True)[:3000])


def decide_every_risk(client, assessment_id: int, *, title: str = "Rutiner och behörigheter ses över") -> list[int]:
    """Through the risk register, as an author: one decided measure (owner, due date) linked to every active
    risk, the rule's proposed residual rating adopted with it where there is one, and each risk treated
    "reduce". Returns the risks' ids."""
    page = client.get(f"/assessments/{assessment_id}/risks").get_data(as_text=True)
    risk_ids = [int(n) for n in re.findall(r'<section class="risk" id="risk-(\d+)"', page)]
    response = client.post(f"/assessments/{assessment_id}/measures", data={
        "title": title, "owner": "Kommunikationschef", "due_date": "2027-03-31", "status": "planned",
        "risks": [str(i) for i in risk_ids]})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get(f"/assessments/{assessment_id}/risks").get_data(as_text=True)  # now with "adopt"
    for risk_id in risk_ids:
        if f'/risks/{risk_id}/adopt"' in page:
            assert client.post(f"/assessments/{assessment_id}/risks/{risk_id}/adopt").status_code == 302
        response = client.post(f"/assessments/{assessment_id}/risks/{risk_id}/treatment",
                               data={"treatment": "reduce"})
        assert response.status_code == 302
    return risk_ids
