from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ... import flow
from ...errors import database_unavailable, handle_csrf_error, handle_http_error, render_error, rollback_quietly
from ...extensions import csrf
from ...forms import SwitchAccountForm
from ...i18n import gettext as _
from ...i18n import page_language
from ...pages import PAGES
from ...services import lifecycle, spi, sso
from . import bp


def spi_settings() -> spi.SpiSettings:
    config = current_app.config
    return spi.SpiSettings(
        isv_key=config["ISV_KEY"],
        public_base_url=config["PUBLIC_BASE_URL"],
        timezone=config["SSO_TIMEZONE"],
    )


def login_free_settings() -> sso.LoginFreeSettings:
    config = current_app.config
    return sso.LoginFreeSettings(config["ISV_KEY"], config["SSO_WINDOW_SECONDS"], config["SSO_TIMEZONE"])


def single_valued(args) -> dict[str, str] | None:
    """The query as a plain mapping; None when a parameter is repeated (its meaning would be ambiguous)."""
    if any(len(values) > 1 for values in args.listvalues()):
        return None
    return args.to_dict()


@bp.get("/spi")
@csrf.exempt
def endpoint():
    """One URL for every action; `action=verify` is the browser's login-free entry, the rest answer JSON."""
    params = single_valued(request.args)
    if request.args.get("action") == "verify":  # a person's browser: whatever is wrong, the page
        return login_free(request.args.to_dict(), repeated=params is None)
    if params is None:
        error = spi.SpiError("InvalidParameter", 400, "a parameter is repeated")
        spi.record_call(request.args.get("action", ""), request.args.to_dict(), error.code)
        return jsonify(error.body()), error.status
    body, status = spi.answer(params, spi_settings())
    return jsonify(body), status


def login_free(params: dict[str, str], repeated: bool = False):
    try:
        login = sso.verify_login_free(params, login_free_settings(), repeated)
    except sso.LoginFreeRefused as refusal:
        current = flow.current_login()
        if refusal.reason == "replayed" and current and current.instance_id == params.get("instanceId"):
            # A double click on 免登, or two links within one second (the same timeStamp, so the same
            # token): this browser already holds the login the first one gave it, unless the instance
            # has since expired or been released; then that is what the customer must read.
            still_refused = sso.enterable(current.instance_id)
            if still_refused is None:
                return redirect(flow.login_free_url(current))
            refusal = still_refused
        page = render_template(
            "spi/login_free_refused.html",
            refusal=refusal,
            marketplace_url=current_app.config["MARKETPLACE_CONSOLE_URL"],
        )
        return page, refusal.status
    landing, workspace = flow.login_free_landing(login)
    if flow.is_signed_in_member(workspace):  # already signed in to this workspace: its console, session untouched
        return redirect(url_for(PAGES["console"].endpoint))
    current = flow.replaces_another_account(login)
    if current is not None:  # maybe a forced 免登 (login CSRF): the customer decides
        flow.hold_login(login)
        return render_template("spi/switch_account.html", current=current, new=login, form=SwitchAccountForm())
    flow.start_marketplace_session(login)
    lifecycle.remember_language(login.instance_id, page_language())
    return redirect(landing)


@bp.post("/login-free/switch")
def switch_account():
    """继续 (the new Aliyun account's 免登 replaces the current one) or 取消 (nothing changes)."""
    form = SwitchAccountForm()
    held = flow.take_held_login() if form.validate_on_submit() else None
    if held is not None and form.proceed.data:
        flow.start_marketplace_session(held)
        return redirect(flow.login_free_url(held))
    if held is None and form.proceed.data:
        flash(_("确认已超时，新的免登未生效。如需切换，请回到阿里云云市场重新点击「免登」。"), "error")
    current = flow.current_login()
    return redirect(flow.entry_url(current) if current else url_for("home.index"))


@bp.errorhandler(Exception)
def spi_failure(error: Exception):
    """The marketplace reads JSON: an unexpected failure is still a JSON answer; either way it is logged."""
    if isinstance(error, HTTPException):  # the 免登 switch is a page: its refusals are the styled ones
        if request.endpoint == "spi.endpoint":
            return error
        return handle_csrf_error(error) if isinstance(error, CSRFError) else handle_http_error(error)
    unavailable = isinstance(error, OperationalError)
    if isinstance(error, OperationalError):
        database_unavailable(error)
    else:
        rollback_quietly()
        current_app.logger.exception("SPI call failed")
    if request.args.get("action") == "verify":  # a person in a browser: the styled page
        return render_error(503 if unavailable else 500)
    if unavailable:
        failure = spi.SpiError("ServiceUnavailable", 503, "the service is temporarily unavailable; retry later")
    else:
        failure = spi.SpiError("InternalError", 500, "the call could not be completed; retry later")
    return jsonify(failure.body()), failure.status
