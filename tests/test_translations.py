"""Swedish first: every user-facing string in code and templates has a Swedish translation."""
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
SV_PO = ROOT / "assessments/translations/sv/LC_MESSAGES/messages.po"


def extracted_ids(tmp_path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "--no-location", str(ROOT)],
                   check=True, capture_output=True, cwd=ROOT)
    with open(pot, "rb") as fh:
        return {message.id for message in read_po(fh) if message.id}


def test_every_message_has_a_swedish_translation(tmp_path):
    with open(SV_PO, "rb") as fh:
        catalog = read_po(fh)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(extracted_ids(tmp_path) - translated)
    assert not missing, f"untranslated (run pybabel extract/update and translate): {missing}"


def test_placeholders_survive_translation():
    import re

    with open(SV_PO, "rb") as fh:
        catalog = read_po(fh)
    for message in catalog:
        if message.id and message.string:
            # A plural message (ngettext) is a pair of forms, translated into Swedish's two forms.
            sources = message.id if isinstance(message.id, tuple) else (message.id,)
            targets = message.string if isinstance(message.string, tuple) else (message.string,)
            expected = {tuple(sorted(re.findall(r"%\(\w+\)s", text))) for text in sources}
            for text in targets:
                assert tuple(sorted(re.findall(r"%\(\w+\)s", text))) in expected, message.id


def test_pages_render_in_swedish_by_default_and_english_on_request(client):
    assert "Logga in" in client.get("/login").get_data(as_text=True)
    client.get("/language/en")
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and 'lang="en"' in page
