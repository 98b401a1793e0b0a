"""axe-core (bundled by axe-playwright-python) on every page type a browser test visits, plus a reflow
check at 320 CSS pixels (WCAG 1.4.10), which axe does not make.

``AxeAudit.check(page, "page type")`` runs axe on the page as it is; ``assert_clean()`` fails with every
violation of impact "serious" or "critical" (rule id, impact, help and the target nodes), so one run
reports all pages at once. Screenshots of each page type at desktop and phone widths are written when
KONSEKVENS_SCREENSHOTS names a directory (never in the repository), e.g. KONSEKVENS_SCREENSHOTS=/tmp/screens.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from tests.conftest import require

BLOCKING = ("serious", "critical")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# WCAG 1.4.10 Reflow: at 320 CSS pixels nothing but a data table's own scroll area may scroll sideways.
REFLOW = {"width": 320, "height": 844}
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  return [...document.querySelectorAll('body *')]
    .filter(el => !el.closest('.visually-hidden') && el.getBoundingClientRect().right > width + 1)
    .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                          (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/ +/g, '.') : ''));
}"""
# WCAG 2.0/2.1 A and AA rules plus axe's best practices (landmarks, headings, nested interactive, …).
OPTIONS = {"resultTypes": ["violations", "incomplete"],
           "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}


class AxeAudit:
    def __init__(self, known_reflow: frozenset[str] = frozenset()) -> None:
        """known_reflow: page types whose sideways scrolling is known and reported elsewhere."""
        try:
            from axe_playwright_python.sync_playwright import Axe
        except ImportError:  # pragma: no cover - a test dependency
            require(False, "axe-playwright-python is not installed (pip install -e '.[test]')")
        self.axe = Axe()
        self.checked: list[str] = []
        self.problems: list[str] = []
        self.minor: list[str] = []
        self.review: list[str] = []  # axe "incomplete": needs a human look, never fails the test
        self.known_reflow = known_reflow
        shots = os.environ.get("KONSEKVENS_SCREENSHOTS")
        self.screens = Path(shots) if shots else None

    def check(self, page, name: str) -> None:
        page.wait_for_load_state("load")
        # Closed <details> (help texts, comment and reply forms) are checked open, then closed again.
        page.evaluate("""() => document.querySelectorAll('details:not([open])').forEach(
            d => { d.open = true; d.dataset.axeOpened = ''; })""")
        results = self.axe.run(page, options=OPTIONS).response
        page.evaluate("""() => document.querySelectorAll('details[data-axe-opened]').forEach(
            d => { d.open = false; delete d.dataset.axeOpened; })""")
        self.checked.append(name)
        for violation in results["violations"]:
            targets = "; ".join(", ".join(map(str, node["target"])) for node in violation["nodes"][:8])
            line = (f"[{name}] {page.url}\n    {violation['id']} ({violation['impact']}): {violation['help']}\n"
                    f"    nodes: {targets}")
            (self.problems if violation["impact"] in BLOCKING else self.minor).append(line)
        for item in results.get("incomplete", []):
            nodes = "; ".join(f"{', '.join(map(str, node['target']))} ({(node.get('any') or [{}])[0].get('message', '')})"
                              for node in item["nodes"][:3])
            self.review.append(f"[{name}] {item['id']} ({item['impact']}): {item['help']} – {len(item['nodes'])} "
                               f"node(s), e.g. {nodes}")
        self.check_reflow(page, name)
        if self.screens is not None:
            self.screenshot(page, name)

    def check_reflow(self, page, name: str) -> None:
        original = page.viewport_size
        page.set_viewport_size(REFLOW)
        wide = page.evaluate(OVERFLOW)
        page.set_viewport_size(original)
        if wide:
            line = f"[{name}] {page.url}\n    reflow (WCAG 1.4.10): the page scrolls sideways at 320 px: {', '.join(wide)}"
            known = name.split(" (")[0] in self.known_reflow  # "dashboard (…)" is a dashboard too
            (self.minor if known else self.problems).append(line)

    def screenshot(self, page, name: str) -> None:
        self.screens.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        original = page.viewport_size
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.screenshot(path=str(self.screens / f"{slug}-{label}.png"), full_page=True)
        page.set_viewport_size(original)

    def assert_clean(self, required: set[str] = frozenset()) -> None:
        missing = sorted(required - set(self.checked))
        assert not missing, f"page types never checked with axe: {missing}"
        if self.minor:
            print("not failing (axe moderate/minor, known reflow):\n" + "\n".join(self.minor))
        if self.review:
            print("axe needs review (incomplete, not failing):\n" + "\n".join(self.review))
        assert not self.problems, ("serious or critical accessibility problems (axe, reflow):\n" + "\n".join(self.problems))
