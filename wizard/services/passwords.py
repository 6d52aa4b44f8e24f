"""New passwords per ASVS 2.1: 12 to 128 characters of any kind, no composition rules, and not
guessable: judged by zxcvbn (Dropbox's estimator; its shipped lists hold the most common and
breached passwords, names and words, no network needed), with the username and email as words an
attacker would try first.

A password is refused when zxcvbn scores it below 3 (about 10^8 guesses: "safely unguessable"
against an online attack and slowed offline by the hash). The same verdict drives the strength
meter on R1 and B2c: in the page after a submit, and live through POST /password/strength.
"""

from __future__ import annotations

from dataclasses import dataclass

from zxcvbn import zxcvbn

from ..i18n import lazy_gettext as _l

MIN_LENGTH, MAX_LENGTH = 12, 128
ACCEPTED_SCORE = 3
# zxcvbn's matching grows with the square of the length; what a 72-character prefix does not make
# guessable, the rest cannot make weaker.
JUDGED_LENGTH = 72

LEVELS = {0: _l("弱"), 1: _l("弱"), 2: _l("弱"), 3: _l("中"), 4: _l("强")}
TOO_SHORT = _l("密码至少 12 位")
TOO_LONG = _l("密码不能超过 128 位")
COMMON = _l("这是常见或已泄露的密码，请换一个")
PERSONAL = _l("密码不能以用户名或邮箱为主要内容")
GUESSABLE = _l("密码太容易被猜到：请加长，或用几个不相关的词组合")


@dataclass(frozen=True)
class Strength:
    score: int  # zxcvbn's 0-4; 0 also for a password of the wrong length
    problem: object | None  # why it is refused (translated lazily); None: accepted

    @property
    def acceptable(self) -> bool:
        return self.problem is None

    @property
    def level(self):
        return LEVELS[self.score]


def judge(password: str, *personal: str) -> Strength:
    """The verdict on a new password; `personal` are the username, email and the like."""
    if len(password) < MIN_LENGTH:
        return Strength(0, TOO_SHORT)
    if len(password) > MAX_LENGTH:
        return Strength(0, TOO_LONG)
    words = [word for value in personal if value for word in _words_of(value)]
    result = zxcvbn(password[:JUDGED_LENGTH], user_inputs=words)
    score = result["score"]
    return Strength(score, None if score >= ACCEPTED_SCORE else _problem(result["sequence"]))


def _words_of(value: str) -> list[str]:
    """The value and, for an email, its local part: what a guesser tries with it."""
    value = value.strip().lower()
    return [value, value.split("@")[0]] if "@" in value else [value]


def _problem(matches: list[dict]):
    dictionaries = {match.get("dictionary_name") for match in matches if match.get("pattern") == "dictionary"}
    if "user_inputs" in dictionaries:
        return PERSONAL
    if "passwords" in dictionaries:
        return COMMON
    return GUESSABLE
