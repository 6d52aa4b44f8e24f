"""What every template can use: the current language, the site names, the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request
from flask_babel import format_date, format_datetime, get_locale

from .choices import SITES, WORKSPACE_LANGUAGES, WORKSPACE_STYLES


def is_safe_redirect(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and "\\" not in target and not any(ord(c) < 32 for c in target)


def next_url(default: str) -> str:
    """The `next` the form carried, if it stays on this site; else `default`."""
    target = request.form.get("next")
    return target if is_safe_redirect(target) else default


def _template_globals() -> dict:
    locale = get_locale()
    return {
        "current_language": locale.language if locale else "zh",
        "html_lang": "zh-CN" if (locale is None or locale.language == "zh") else "en",
        "SITES": SITES,
        "WORKSPACE_LANGUAGES": WORKSPACE_LANGUAGES,
        "WORKSPACE_STYLES": WORKSPACE_STYLES,
        "current_path": request.full_path.rstrip("?") if request else "/",
    }


def register_template_helpers(app: Flask) -> None:
    app.context_processor(_template_globals)
    app.jinja_env.globals.update(format_datetime=format_datetime, format_date=format_date)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
