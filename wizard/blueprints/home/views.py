from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, url_for

from ... import form_state
from ...templating import next_url
from . import bp

LANGUAGE_COOKIE_AGE = 365 * 24 * 3600


@bp.get("/")
def index():
    return render_template("home/index.html")


@bp.post("/language")
def set_language():
    """Keep the chosen interface language in a cookie and return to the page the user was on."""
    target = next_url(url_for("home.index"))
    response = redirect(target)
    # The switch submits the page's form: what was typed comes back in the new language.
    form_state.keep_submitted(urlsplit(target).path)
    language = request.form.get("lang")
    if language in current_app.config["LANGUAGES"]:
        response.set_cookie(
            "lang",
            language,
            max_age=LANGUAGE_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response
