"""For the verification-code tests (and e2e): a clock to move, and pages built as wizard pages are.

The wizard pages that will use 获取验证码 do not exist yet, so these two stand in for them, using
the form mixin, the macro and the page helpers exactly as wizard/blueprints/codes documents.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, redirect, render_template_string, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField

from devtools.customer import Browser
from wizard import flow
from wizard.blueprints.codes import handle_send_code, redeem_code, send_limit
from wizard.forms import CodeFieldsMixin, email_validators, show_refusal, strip, username_validators
from wizard.services import codes

from .conftest import FrozenClock  # noqa: F401  (used by e2e)


class EmailPageForm(CodeFieldsMixin, FlaskForm):
    nickname = StringField("昵称")
    email = StringField("邮箱", filters=[strip], validators=email_validators())
    password = PasswordField("登录密码")
    submit = SubmitField("下一步")


class UsernamePageForm(CodeFieldsMixin, FlaskForm):
    username = StringField("用户名", filters=[strip], validators=username_validators())
    submit = SubmitField("绑定")


PAGE = """{% extends "base.html" %}
{% from "macros/forms.html" import error_summary, field %}
{% from "macros/codes.html" import code_field, default_submit %}
{% block title %}验证码{% endblock %}
{% block content %}
{% if request.args.verified %}<p class="flash flash-success" role="status">验证通过</p>{% endif %}
<form class="form" method="post" novalidate>
  {{ default_submit(form.submit) }}
  {{ error_summary(form) }}
  {{ form.hidden_tag() }}
  {% for name in fields %}{{ field(form[name]) }}{% endfor %}
  {{ code_field(form, identifier, purpose) }}
  <div class="actions">{{ form.submit(class_="button button-primary") }}</div>
</form>
{% endblock %}
"""

code_pages = Blueprint("code_pages", __name__, url_prefix="/test/codes")


@code_pages.before_request
def in_the_wizard():
    """Like a wizard page, only a customer holding a marketplace login (免登) gets here: each new
    browser comes as an Aliyun account of its own."""
    if flow.current_login() is None:
        ali_uid = f"139{secrets.randbelow(10**13):013d}"
        flow.start_marketplace_session(flow.MarketplaceLogin(ali_uid, f"test-{ali_uid}"))


def redeemed(form, source: str, purpose: str) -> bool:
    """The code right, and used up (a page whose action is nothing else)."""
    try:
        redeem_code(form, source, purpose, lambda: None)
    except codes.CodeRejected as refusal:
        show_refusal(form, refusal)
        return False
    return True


def _page(form, fields, source, purpose):
    return render_template_string(PAGE, form=form, fields=fields, identifier=source, purpose=purpose)


@code_pages.route("/email", methods=["GET", "POST"])
@send_limit
def email_page():
    """Like R1 or B2c: an email, other fields, a password, and the code."""
    form = EmailPageForm()
    fields = ("nickname", "email", "password")
    if handle_send_code(form, "email", "register"):
        return _page(form, fields, "email", "register")
    if form.validate_on_submit() and redeemed(form, "email", "register"):
        return redirect(url_for(".email_page", verified=1))
    return _page(form, fields, "email", "register")


@code_pages.route("/username", methods=["GET", "POST"])
@send_limit
def username_page():
    """Like B1: a billing-center username, whose account's email gets the code."""
    form = UsernamePageForm()
    if handle_send_code(form, "username", "bind_billing"):
        return _page(form, ("username",), "username", "bind_billing")
    if form.validate_on_submit() and redeemed(form, "username", "bind_billing"):
        return redirect(url_for(".username_page", verified=1))
    return _page(form, ("username",), "username", "bind_billing")


def send_json(client, purpose: str, identifier: str, **headers):
    """POST /codes/send as app.js does: form fields, the CSRF token in X-CSRFToken (a raw response)."""
    browser = Browser.of(client)
    page = browser.get("/test/codes/email")
    return browser.send(page, "/codes/send", {"purpose": purpose, "identifier": identifier}, headers=headers).raw
