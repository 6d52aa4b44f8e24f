from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ... import clock, sessions
from ...extensions import limiter
from ...forms import LoginForm
from ...i18n import gettext as _
from ...i18n import page_language
from ...services import accounts, lifecycle, usage, workspaces
from ...services.login_throttle import LoginThrottled
from ...templating import is_safe_redirect
from . import bp


def _login_limit() -> str:
    return f"{current_app.config['LOGIN_ATTEMPTS_PER_MINUTE']} per minute"


@bp.route("/login/pwd", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm(site=request.args.get("site", "cn1"))
    if form.validate_on_submit():
        try:
            account = accounts.log_in(form.site.data, form.username.data, form.password.data, page_language())
        except LoginThrottled as refusal:  # the same answer whether the account exists or not
            form.password.errors = [refusal.message]
            return render_template("auth/login.html", form=form), 429
        if account is not None:
            sessions.renew()  # a new session id at login: nothing from before it carries over
            login_user(account)
            target = request.args.get("next")
            return redirect(target if is_safe_redirect(target) else landing_url(account))
        form.password.errors = [_("用户名或密码错误")]
    return render_template("auth/login.html", form=form)


def landing_url(account) -> str:
    """The console; or the lock page of a workspace counting down or locked, so it is seen at once."""
    attention = lifecycle.needing_attention(account.id)
    if attention:
        return url_for("lifecycle.workspace_lock", workspace_id=attention[0].id)
    return url_for("auth.console")


@bp.post("/logout")
def logout():
    logout_user()
    sessions.renew()  # the stored session is deleted: no copy of the cookie opens anything
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))


@bp.get("/console/")
@login_required
def console():
    """The first landing page: the account's workspaces, their edition and settlement."""
    return render_template(
        "console/home.html",
        workspaces=workspaces.workspaces_of(current_user),
        settling_instance=workspaces.settling_instance,
        usage_of=_usage_of,
    )


def _usage_of(workspace) -> usage.MonthUsage | None:
    return usage.settled_usage(workspace, clock.now(), current_app.config["BABEL_DEFAULT_TIMEZONE"])


@bp.get("/console/workspaces/<int:workspace_id>/usage")
@login_required
def workspace_usage(workspace_id: int):
    """U1 in full: every hour of this month, for a member of an Aliyun-settled workspace."""
    workspace = usage.member_workspace(current_user.id, workspace_id)
    month = _usage_of(workspace) if workspace is not None else None
    if month is None:
        abort(404)
    return render_template("console/usage.html", workspace=workspace, usage=month)


@bp.get("/console/datakit")
@login_required
def datakit():
    """从安装 DataKit 开始: a short getting-started page."""
    return render_template("console/datakit.html")
