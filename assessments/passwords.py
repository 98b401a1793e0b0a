"""The password policy, in one place: every code path that sets a password asks ``policy_problem`` first.

NIST SP 800-63B §5.1.1.2 (memorized secrets): at least 8 characters — we ask for 12, since a passphrase of
a few words is easy to type — and allow at least 64; count Unicode code points (after NFKC, as stored),
never bytes; any character, spaces included; no composition rules ("one digit, one capital") and no
forced periodic change; instead reject passwords that are known to be common (breach corpuses, dictionary
words, context-specific words such as the service's name or the user's own name and address).
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from .models import User

MIN_LENGTH = 12
MAX_LENGTH = 256  # long enough for any passphrase; bounds the work of hashing an attacker's input
DATA_DIR = Path(__file__).parent / "data"
LIST_FILES = ("common-passwords.txt", "common-passwords-sv.txt")
# Names and address parts shorter than this are not looked for inside the password ("Jo" would forbid
# every password containing "jo").
MIN_PERSONAL_FRAGMENT = 4

NOT_LETTERS_AT_ENDS = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    words: set[str] = set()
    for name in LIST_FILES:
        for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                words.add(_fold(line))
    return frozenset(words)


def _fold(text: str) -> str:
    return User.normalise_password(text).casefold()


def _smallest_repeated_unit(text: str) -> str:
    """'hejhejhej' → 'hej'; text that is no repetition comes back unchanged."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def is_common(password: str) -> bool:
    """The password, or its letters without the digits and punctuation around them ("Sommar2024!"), or
    the unit it repeats ("hejhejhejhej"), is on the list; or it repeats one or two characters only
    ("aaaaaaaaaaaa", "abababababab" — NIST's "repetitive characters")."""
    folded = _fold(password)
    core = NOT_LETTERS_AT_ENDS.sub("", folded)
    units = {_smallest_repeated_unit(folded), _smallest_repeated_unit(core)}
    if len(_smallest_repeated_unit(folded)) <= 2:
        return True
    return any(candidate in common_passwords() for candidate in {folded, core, *units} if candidate)


def personal_fragments(email: str = "", name: str = "", extra: Iterable[str] = ()) -> set[str]:
    local = (email or "").split("@", 1)[0]
    parts = {local, *re.split(r"[._+\-]", local), name or "", *re.split(r"[\s\-]+", name or ""), *extra}
    return {_fold(part.strip()) for part in parts if len(part.strip()) >= MIN_PERSONAL_FRAGMENT}


def policy_problem(password: str, *, email: str = "", name: str = "", extra: Iterable[str] = (),
                   for_someone_else: bool = False):
    """The first reason the password may not be used (a lazy, translatable message), or None.
    ``for_someone_else``: an administrator chooses it for the user (the message says "the user's name")."""
    length = len(User.normalise_password(password or ""))
    if length < MIN_LENGTH:
        return _l("The password must be at least %(min)s characters long (this one has %(count)s). "
                  "A few words that do not belong together are easy to remember and hard to guess.",
                  min=MIN_LENGTH, count=length)
    if length > MAX_LENGTH:
        return _l("The password can be at most %(max)s characters long.", max=MAX_LENGTH)
    folded = _fold(password)
    if any(fragment in folded for fragment in personal_fragments(email, name, extra)):
        if for_someone_else:
            return _l("The password must not contain the user's name, their email address or the organisation's "
                      "name.")
        return _l("The password must not contain your name, your email address or your organisation's name.")
    if is_common(password):
        return _l("This password is too common: it is on lists of passwords that attackers try first. "
                  "Choose another one, for example a few words that do not belong together.")
    return None


# Read aloud or copied from the screen: lower-case letters and digits without the look-alikes (0/o, 1/l/i),
# in groups of four. 16 characters of 31 give about 79 bits, far beyond online guessing (NIST SP 800-63B
# §5.1.1.2 asks nothing of a secret chosen at random but that it be at least 6 characters).
ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
ONE_TIME_GROUPS, ONE_TIME_GROUP_LENGTH = 4, 4


def one_time_password(*, email: str = "", name: str = "", extra: Iterable[str] = ()) -> str:
    """A random password for an administrator to hand over once ("k7pm-x3qd-9wfz-h2ne"), passing the policy
    for this user (a random string can, rarely, contain part of a name)."""
    while True:
        candidate = "-".join("".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(ONE_TIME_GROUP_LENGTH))
                             for _ in range(ONE_TIME_GROUPS))
        if policy_problem(candidate, email=email, name=name, extra=extra) is None:
            return candidate


POLICY_HINT = _l("At least %(min)s characters. Any characters may be used, spaces too. A few words that do "
                 "not belong together are easy to remember and hard to guess.", min=MIN_LENGTH)


class PasswordPolicy:
    """WTForms validator; ``user`` returns the user whose password is set (for their name and address)."""

    def __init__(self, user):
        self.user = user

    def __call__(self, form, field) -> None:
        user = self.user()
        problem = policy_problem(field.data or "", email=user.email, name=user.name,
                                 extra=[user.organisation.name] if user.organisation else [])
        if problem is not None:
            raise ValidationError(str(problem))
