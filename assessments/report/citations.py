"""Legal references in the report's language and its one citation style.

The catalogue writes references once, in the Swedish style of Swedish legal writing ("GDPR art. 35.3 b",
"GDPR skäl 51", "Dataskyddslagen (2018:218) 2 kap. 2 §"). A Swedish report prints them so; an English
report prints them in the style its own text uses ("GDPR Art. 35(3)(b)", "GDPR Recital 51",
"Data Protection Act (2018:218) Chapter 2 Section 2"), so one page never mixes "art. 35.1" and
"Art. 35(1)" and an English reader meets no Swedish words. The names of Swedish statutes follow the
Government Offices' English translations.
"""
from __future__ import annotations

import functools
import re

# Whole phrases first (longest first), then the article and chapter patterns.
_EN_PHRASES = (
    ("IMY:s förteckning enligt art. 35.4", "IMY's list under Art. 35(4)"),
    ("IMY:s beslut om Google Analytics", "IMY's decisions on Google Analytics"),
    ("IMY:s beslut om Meta-pixeln", "IMY's decision on the Meta pixel"),
    ("IMY:s beslut mot", "IMY's decision against"),
    ("Datainspektionens beslut mot", "the Swedish Data Protection Authority's decision against"),
    ("Offentlighets- och sekretesslagen", "Public Access to Information and Secrecy Act"),
    ("Dataskyddslagen", "Data Protection Act"),
    ("Kommunallagen", "Local Government Act"),
    ("Arkivlagen", "Archives Act"),
    ("Lag (1978:800) om namn och bild i reklam", "Act (1978:800) on Names and Images in Advertising"),
    ("Lag (1998:112) om ansvar för elektroniska anslagstavlor",
     "Act (1998:112) on Responsibility for Electronic Bulletin Boards"),
    ("Lag (2004:297) om bank- och finansieringsrörelse", "Banking and Financing Business Act (2004:297)"),
    ("Lag (2022:482) om elektronisk kommunikation", "Electronic Communications Act (2022:482)"),
    ("Förordning (EU)", "Regulation (EU)"),
    ("(gäller informationssamhällets tjänster)", "(information society services)"),
    ("(informationssamhällets tjänster)", "(information society services)"),
    ("(statliga myndigheter)", "(state authorities)"),
    ("(ej lagakraftvunnen)", "(not final)"),
    ("ansiktsigenkänning", "facial recognition"),
    ("användningsfall 6 och 7", "use cases 6 and 7"),
    ("sista stycket", "last subparagraph"),
    ("Skellefteå kommun", "Skellefteå municipality"),
    ("Meta Platforms m.fl.", "Meta Platforms and Others"),
    ("RF ", "Instrument of Government "),
    ("TF ", "Freedom of the Press Act "),
)
_EN_MONTHS = {"januari": "January", "februari": "February", "mars": "March", "april": "April", "maj": "May",
              "juni": "June", "juli": "July", "augusti": "August", "september": "September",
              "oktober": "October", "november": "November", "december": "December"}
_SV_PHRASES = (
    ("EDPB Guidelines", "EDPB:s riktlinjer"),
    ("EDPB Rec.", "EDPB:s rekommendationer"),
    ("Schrems II, p. ", "Schrems II, punkterna "),
)

# "art. 35.3 b" → "Art. 35(3)(b)"; "art. 44–49" → "Art. 44–49"; "art. 8 (…)" keeps its parenthesis.
_ARTICLE = re.compile(r"\bart\. (\d+)((?:\.\d+)*)((?: [a-z])?)\b(?!\.\d)")
_RECITAL = re.compile(r"\bskäl (\d+)")
_CHAPTER_SECTION = re.compile(r"(\d+) kap\. (\d+) §")
_CHAPTER = re.compile(r"(\d+) kap\.")
_STEP = re.compile(r"\bsteg (\d+)")
_CRITERION = re.compile(r"\bkriterium (\d+)")
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2}) (" + "|".join(_EN_MONTHS) + r") (\d{4})\b")
_SWEDISH_DATE = re.compile(r"\((\d{1,2}) (" + "|".join(_EN_MONTHS) + r") (\d{4})")


def _article(match: re.Match) -> str:
    parts = [p for p in match.group(2).split(".") if p]
    letter = match.group(3).strip()
    return f"Art. {match.group(1)}" + "".join(f"({p})" for p in parts) + (f"({letter})" if letter else "")


@functools.lru_cache(maxsize=2048)
def cite(reference: str, lang: str) -> str:
    """``reference`` (as the catalogue writes it) in the citation style of ``lang`` (sv or en)."""
    if lang != "en":
        for swedish_style, replacement in _SV_PHRASES:
            reference = reference.replace(swedish_style, replacement)
        return reference
    text = reference
    for phrase, english in _EN_PHRASES:
        text = text.replace(phrase, english)
    text = _ARTICLE.sub(_article, text)
    text = _RECITAL.sub(r"Recital \1", text)
    text = _CHAPTER_SECTION.sub(r"Chapter \1 Section \2", text)
    text = _CHAPTER.sub(r"Chapter \1", text)
    text = _STEP.sub(r"step \1", text)
    text = _CRITERION.sub(r"criterion \1", text)
    text = _DAY_MONTH_YEAR.sub(lambda m: f"{m.group(1)} {_EN_MONTHS[m.group(2)]} {m.group(3)}", text)
    return text


def cite_all(references, lang: str) -> str:
    return "; ".join(cite(reference, lang) for reference in references)
