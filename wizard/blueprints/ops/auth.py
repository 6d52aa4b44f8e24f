"""Signing in: the password (throttled per username and per IP), then the TOTP code, or enrolment."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for

from ...extensions import limiter
from ...i18n import gettext as _
from ...observability import metrics
from ...pages import route
from ...services.login_throttle import LoginThrottled
from ...services.ops import audit, operators
from ...templating import is_safe_redirect
from . import access, bp
from .forms import ActionForm, OpsLoginForm, TotpForm


def _login_limit() -> str:
    return f"{current_app.config['LOGIN_ATTEMPTS_PER_MINUTE']} per minute"


def _next() -> str:
    target = request.args.get("next")
    return target if is_safe_redirect(target) and target.startswith("/ops/") else url_for("ops.instances")


@route(bp, "O-login")
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if access.current_operator() is not None:
        return redirect(_next())
    form = OpsLoginForm()
    if form.validate_on_submit():
        try:
            operator = operators.check_password(form.username.data, form.password.data)
        except LoginThrottled as refusal:
            form.password.errors = [refusal.message]
            return render_template("ops/login.html", form=form), 429
        if operator is not None:
            access.hold_pending(operator)
            return redirect(url_for("ops.second_factor", next=request.args.get("next")))
        audit.record_now(access.actor(username=form.username.data), "sign_in_refused", reason="password")
        metrics.operator_login("refused")
        form.password.errors = [_("运维账号或密码错误")]
    return render_template("ops/login.html", form=form)


@route(bp, "O-totp")
@limiter.limit(_login_limit, methods=["POST"])
def second_factor():
    operator = access.pending_operator()
    if operator is None:
        flash(_("请先输入运维账号和密码。"), "info")
        return redirect(url_for("ops.login"))
    form, enrolling = TotpForm(), operator.totp_confirmed_at is None
    if form.validate_on_submit():
        try:
            accepted = operators.check_code(operator, form.code.data)
        except LoginThrottled as refusal:
            form.code.errors = [refusal.message]
            return _second_factor_page(operator, form), 429
        if accepted:
            return _signed_in(operator, enrolling)
        audit.record_now(access.actor(operator), "sign_in_refused", reason="totp")
        metrics.operator_login("refused")
        if not access.count_wrong_code():
            flash(_("验证码错误次数过多，请重新输入运维账号和密码。"), "error")
            return redirect(url_for("ops.login"))
        form.code.errors = [operators.WRONG_CODE]
    form.code.data = ""
    return _second_factor_page(operator, form)


def _second_factor_page(operator, form):
    enrolling = operator.totp_confirmed_at is None
    secret = operators.totp_of(operator).secret if enrolling else None
    return render_template("ops/totp.html", form=form, operator=operator, enrolling=enrolling, secret=secret)


def _signed_in(operator, enrolled_now: bool):
    access.sign_in(operator)
    if enrolled_now:
        audit.record_now(access.actor(operator), "totp_enrolled", ("operator", operator.id))
    audit.record_now(access.actor(operator), "signed_in")
    metrics.operator_login("signed_in")
    return redirect(_next())


@bp.get("/login/totp/qr.svg")
def enrolment_qr():
    """The QR code of an operator who has not enrolled yet, for the password-checked session only."""
    operator = access.pending_operator()
    if operator is None or operator.totp_confirmed_at is not None:
        abort(404)
    return Response(operators.qr_svg(operator), mimetype="image/svg+xml")


@bp.post("/logout")
def logout():
    operator = access.current_operator()
    if ActionForm().validate_on_submit() and operator is not None:
        audit.record_now(access.actor(operator), "signed_out")
        access.sign_out()
        flash(_("您已退出运维控制台。"), "info")
    return redirect(url_for("ops.login"))
