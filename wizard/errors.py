"""Styled error pages: a clear sentence in the page's language, never a stack trace."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from wtforms import ValidationError

from .extensions import db
from .i18n import lazy_gettext as _l

ERROR_PAGES = {
    400: (_l("请求无效"), _l("页面无法处理这次提交。请返回上一页，刷新后重试。")),
    403: (_l("没有权限"), _l("当前账号不能访问此页面。请换用有权限的账号登录，或联系工作空间的所有者。")),
    404: (_l("页面不存在"), _l("您访问的页面不存在，请检查链接是否正确。")),
    405: (_l("不支持的操作"), _l("此页面不支持这种访问方式，请从页面上的按钮进入。")),
    413: (_l("提交的内容过大"), _l("提交的内容超过了页面允许的大小。请返回上一页，检查填写的内容后重试。")),
    429: (_l("操作过于频繁"), _l("您的操作过于频繁，请稍后再试。")),
    500: (_l("服务出错了"), _l("服务器遇到了问题，我们已记录下来。请稍后重试。")),
    503: (_l("服务暂时不可用"), _l("服务暂时不可用，请稍候片刻后重试。")),
}
CSRF_MESSAGE = _l("页面已过期或表单校验失败，请刷新页面后重新提交。")
# The form was made for a session that a later 免登 (another instance, or the same one again) replaced.
REPLACED_TITLE = _l("此页面已失效")
REPLACED_MESSAGE = _l("此页面已在另一次免登后失效，请回到最新的页面或重新免登。")


def render_error(code: int, message=None):
    title, default_message = ERROR_PAGES.get(code, ERROR_PAGES[500])
    return render_template("errors/error.html", code=code, title=title, message=message or default_message), code


def handle_http_error(error: HTTPException):
    if error.code not in ERROR_PAGES:
        return error
    return render_error(error.code)


def _made_before_login_free(replaced_key: str) -> bool:
    """Whether the form's token was made by the session a later 免登 replaced (not a forged or stale one)."""
    try:
        validate_csrf(request.form.get("csrf_token"), token_key=replaced_key)
    except ValidationError:
        return False
    return True


def handle_csrf_error(_error: CSRFError):
    """A form of a session replaced by 免登 says so and leads to the latest page; any other, the usual."""
    from . import flow

    current = flow.current_login() if _made_before_login_free(flow.REPLACED_CSRF_KEY) else None
    if current is None:
        return render_error(400, CSRF_MESSAGE)
    page = render_template("errors/error.html", code=400, title=REPLACED_TITLE, message=REPLACED_MESSAGE,
                           latest_url=flow.login_free_url(current))  # fmt: skip
    return page, 400


def rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection may be gone; the page must still render
        current_app.logger.warning("rollback failed", exc_info=True)


def handle_server_error(error: InternalServerError):
    rollback_quietly()
    # Flask has already logged the original exception with its traceback.
    return render_error(500)


def database_unavailable(error: OperationalError) -> None:
    """What every answer to a database outage does first (the page, or JSON where a script asked)."""
    rollback_quietly()
    current_app.logger.warning("database unavailable: %s", error.orig)


def handle_database_unavailable(error: OperationalError):
    database_unavailable(error)
    return render_error(503)


def register_error_pages(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_server_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)
