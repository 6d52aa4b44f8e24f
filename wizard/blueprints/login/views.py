from flask import current_app, flash, redirect, request, url_for
from flask_login import login_user, logout_user

from ... import sessions
from ...choices import DEFAULT_SITE
from ...extensions import limiter
from ...forms import LoginForm, show_refusal
from ...i18n import gettext as _
from ...i18n import page_language
from ...pages import PAGES, render_page, route
from ...services import accounts, lifecycle
from ...services.login_throttle import LoginThrottled
from ...templating import is_safe_redirect
from . import bp


def _login_limit() -> str:
    return f"{current_app.config['LOGIN_ATTEMPTS_PER_MINUTE']} per minute"


@route(bp, "L1")
@limiter.limit(_login_limit, methods=["POST"])
def login():
    # 免登 on an activated instance comes with the site and the workspace owner's username.
    form = LoginForm(site=request.args.get("site", DEFAULT_SITE), username=request.args.get("username", ""))
    if form.validate_on_submit():
        try:
            account = accounts.log_in(form.site.data, form.username.data, form.password.data, page_language())
        except LoginThrottled as refusal:  # the same answer whether the account exists or not
            show_refusal(form, refusal)
            return render_page(form=form), 429
        if account is not None:
            sessions.renew()  # a new session id at login: nothing from before it carries over
            login_user(account)
            target = request.args.get("next")
            return redirect(target if is_safe_redirect(target) else landing_url(account))
        form.password.errors = [_("用户名或密码错误")]
    return render_page(form=form)


def landing_url(account) -> str:
    """The console; or the lock page of a workspace counting down or locked, so it is seen at once."""
    attention = lifecycle.needing_attention(account.id)
    if attention:
        return url_for(PAGES["X1-console"].endpoint, workspace_id=attention[0].id)
    return url_for(PAGES["console"].endpoint)


@bp.post("/logout")
def logout():
    logout_user()
    sessions.renew()  # the stored session is deleted: no copy of the cookie opens anything
    flash(_("您已退出登录。"), "info")
    return redirect(url_for(PAGES["L1"].endpoint))
