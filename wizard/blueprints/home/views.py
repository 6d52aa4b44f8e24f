from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, url_for

from ... import form_state
from ...pages import render_page, route
from ...security import set_cookie
from ...templating import next_url
from . import bp

LANGUAGE_COOKIE_AGE = 365 * 24 * 3600


@bp.get("/")
def index():
    return render_template("home/index.html")


@route(bp, "terms")
def terms():
    """《观测云用户协议》: the short demo text the forms' agreement links to."""
    return render_page()


@route(bp, "privacy")
def privacy():
    """《隐私政策》: what this product keeps about a customer, and why."""
    return render_page()


@bp.post("/language")
def set_language():
    """Keep the chosen interface language in a cookie and return to the page the user was on."""
    target = next_url(url_for("home.index"))
    response = redirect(target)
    # The switch submits the page's form: what was typed comes back in the new language.
    form_state.keep_submitted(urlsplit(target).path)
    language = request.form.get("lang")
    if language is not None and language in current_app.config["LANGUAGES"]:
        set_cookie(response, "lang", language, max_age=LANGUAGE_COOKIE_AGE)
    return response
