"""What a wizard form carries across a redirect: Post/Redirect/Get after errors, and the language switch.

A wizard page that answers a POST with its form again (errors, or the outcome of 获取验证码) does
not render it in the POST's answer: it keeps what was typed, the errors and the 获取验证码 outcome
in the session, keyed by the page's path, and redirects (303) to the page itself; the GET shows
them once. So the browser's history holds only GETs: Back and refresh never ask to resubmit a form.

The language switch (partials/language_switch.html) submits the page's form (its buttons belong to
it through the `form` attribute) to POST /language, which keeps the typed values the same way; the
page in the new language shows them again. No JavaScript is needed for either.

Never kept: passwords, the code, the CSRF token and the buttons: what is typed again on purpose.
"""

from __future__ import annotations

from flask import request, session
from werkzeug.datastructures import MultiDict
from wtforms import PasswordField, SubmitField

KEY = "form_state"
NEVER_KEPT = {"csrf_token", "code", "next", "lang"}
# How many pages' states one session holds at most (each is read once; older ones are dropped).
MOST_PAGES = 5


def _kept(form) -> set[str]:
    """The names of the form's fields whose values may be stored (not secrets, not buttons)."""
    return {field.name for field in form if not isinstance(field, PasswordField | SubmitField)} - NEVER_KEPT


def _store(path: str, state: dict) -> None:
    states = {name: value for name, value in session.get(KEY, {}).items() if name != path}
    states[path] = state
    session[KEY] = dict(list(states.items())[-MOST_PAGES:])


def keep_form(form, path: str | None = None) -> None:
    """Keep what was typed in `form`, its errors and 获取验证码's outcome, for the next GET of `path`."""
    kept = _kept(form)
    status = getattr(form, "code_status", None)
    _store(path or request.path, {
        "data": [(name, value) for name in kept for value in request.form.getlist(name)],
        "errors": {field.name: [str(error) for error in field.errors] for field in form if field.errors},
        "code_status": [status.ok, str(status.message), status.retry_after] if status else None,
        # The strength meter's verdict on the password typed (never the password itself).
        "strength": {field.name: [field.strength.score, field.strength.problem and str(field.strength.problem)]
                     for field in form if getattr(field, "strength", None) is not None},
    })  # fmt: skip


def keep_submitted(path: str) -> None:
    """Keep the posted values (the language switch), whatever the page's form, for the next GET of `path`."""
    data = [(name, value) for name, value in request.form.items(multi=True)
            if name not in NEVER_KEPT and "password" not in name]  # fmt: skip
    if data:
        _store(path, {"data": data, "errors": {}, "code_status": None, "loose": True})


def take_pending() -> bool:
    """Drop the state kept for this page, if any: True when there was one (its POST was just refused)."""
    states = session.get(KEY)
    if not states or request.path not in states:
        return False
    session[KEY] = {name: state for name, state in states.items() if name != request.path}
    return True


def restore_form(form) -> None:
    """On a GET, put back what `keep_form` or `keep_submitted` kept for this page (once)."""
    from .blueprints.codes.pages import CodeStatus
    from .services.passwords import Strength

    states = session.get(KEY)
    if not states or request.path not in states:
        return
    state = states.pop(request.path)
    session[KEY] = states
    passwords = {field.name for field in form if isinstance(field, PasswordField)}
    data = [(name, value) for name, value in state["data"] if name not in passwords]
    form.process(formdata=MultiDict(data))
    for name, errors in state["errors"].items():
        if name in form:
            form[name].errors = list(errors)
    if state["code_status"]:
        form.code_status = CodeStatus(*state["code_status"])
    for name, (score, problem) in state.get("strength", {}).items():
        if name in form:
            form[name].strength = Strength(score, problem)
