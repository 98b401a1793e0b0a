"""Shared steps for the browser tests."""
from __future__ import annotations

import re

from tests.conftest import DEMO_PASSWORD


def login(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-postadress").fill(email)
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(f"{base}/")


def logout(page, base: str) -> None:
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/(login.*)?$"))


def create_assessment(app, email: str, title: str, platforms: list[str]) -> int:
    """A draft made through the same HTTP form a user sends (the test client)."""
    with app.test_client() as client:
        client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        response = client.post("/assessments/new", data={"title": title, "platforms": platforms, "language": "sv"})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
