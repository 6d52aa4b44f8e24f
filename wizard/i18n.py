"""Translation calls for Python code and templates, against the page's catalog looked up once per request.

Flask-Babel resolves domain, locale and catalog on every call (~35 µs); a page evaluates dozens of
strings (labels, choices, messages), so these resolve the catalog once and then cost a dict lookup.
Same meaning as Flask-Babel's functions of the same names. Measured under wrk (bench/variants.py,
`no-i18n-cache`), it saves 8-22% of a wizard page's server CPU.

`page_translations` reads Flask-Babel's private per-request state (`g._flask_babel.babel_locale`,
where `get_locale` and `force_locale` keep the locale) to notice a switch of locale without asking
Flask-Babel again. That state is not an API: this module refuses any Flask-Babel but the one it was
written against (tests/test_i18n.py holds the two to the same answers).
"""

from __future__ import annotations

from importlib.metadata import version

from babel.support import NullTranslations
from flask import current_app, g
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString
from markupsafe import Markup

WRITTEN_FOR = "4.0.0"  # the Flask-Babel whose private state page_translations reads; check again before raising the pin

_UNTRANSLATED = NullTranslations()


def check_flask_babel_version(installed: str | None = None) -> None:
    installed = installed or version("flask-babel")
    if installed != WRITTEN_FOR:
        raise RuntimeError(
            f"wizard/i18n.py reads Flask-Babel {WRITTEN_FOR}'s private per-request state (g._flask_babel), but "
            f"Flask-Babel {installed} is installed: check that get_locale and force_locale still keep the locale "
            "in g._flask_babel.babel_locale (tests/test_i18n.py), then update WRITTEN_FOR."
        )


check_flask_babel_version()  # at import: nothing may translate through a reach it cannot trust


def page_translations():
    """The catalog of the current locale; keyed on the locale object, so `force_locale` still switches."""
    if not g:  # outside an application context (import time): the source strings
        return _UNTRANSLATED
    request_globals = g._get_current_object()  # one proxy lookup instead of one per attribute
    babel_state = getattr(request_globals, "_flask_babel", None)
    locale = getattr(babel_state, "babel_locale", None) or get_locale()
    cached = getattr(request_globals, "_page_translations", None)
    if cached is None or cached[0] is not locale:
        cached = request_globals._page_translations = (locale, get_translations())
    return cached[1]


def page_language() -> str:
    """The page's language code ("zh", "en"): emails caused by the page are written in it."""
    locale = get_locale()
    return locale.language if locale else current_app.config["BABEL_DEFAULT_LOCALE"]


def gettext(string: str, **variables) -> str:
    text = page_translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return page_translations().ungettext(singular, plural, num) % variables


def _gettext_markup(string: str, **variables) -> Markup:
    text = Markup(page_translations().ugettext(string))
    return text % variables if variables else text


def _ngettext_markup(singular: str, plural: str, num: int, **variables) -> Markup:
    variables.setdefault("num", num)
    return Markup(page_translations().ungettext(singular, plural, num)) % variables


class EscapingLazyString(LazyString):
    """A lazy string whose HTML form escapes the values put into it.

    Flask-Babel's LazyString says `__html__` is `str(self)`: Jinja then takes the whole formatted
    text as safe markup, so `_l("…%(name)s", name=typed_by_a_user)` would reach the page unescaped.
    Here the translated text is markup (translators' HTML entities stay as they are) and every
    value is escaped as it goes in, as Jinja's own `_()` does.
    """

    def __init__(self, func, markup_func, *args, **kwargs) -> None:
        super().__init__(func, *args, **kwargs)
        self._markup_func = markup_func

    def __html__(self) -> Markup:
        return self._markup_func(*self._args, **self._kwargs)


def lazy_gettext(string: str, **variables) -> LazyString:
    return EscapingLazyString(gettext, _gettext_markup, string, **variables)


def lazy_ngettext(singular: str, plural: str, num: int, **variables) -> LazyString:
    return EscapingLazyString(ngettext, _ngettext_markup, singular, plural, num, **variables)
