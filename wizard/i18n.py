"""Translation calls for Python code and templates, against the page's catalog looked up once per request.

Flask-Babel resolves domain, locale and catalog on every call (~35 µs); a page evaluates dozens of
strings (labels, choices, messages), so these resolve the catalog once and then cost a dict lookup.
Same meaning as Flask-Babel's functions of the same names.
"""

from __future__ import annotations

from babel.support import NullTranslations
from flask import current_app, g
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString

_UNTRANSLATED = NullTranslations()


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


def current_language() -> str:
    """The page's language code ("zh" or "en"): what emails asked for on this page are written in."""
    locale = get_locale()
    return locale.language if locale else current_app.config["BABEL_DEFAULT_LOCALE"]


def gettext(string: str, **variables) -> str:
    text = page_translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return page_translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    return LazyString(gettext, string, **variables)


def lazy_ngettext(singular: str, plural: str, num: int, **variables) -> LazyString:
    return LazyString(ngettext, singular, plural, num, **variables)
