"""The simulator's styled error pages: a sentence in the page's language, never a stack trace."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db

ERROR_PAGES = {
    400: (_l("请求无效"), _l("页面无法处理这次提交。请返回上一页，刷新后重试。")),
    404: (_l("页面不存在"), _l("您访问的页面不存在，请检查链接是否正确。")),
    405: (_l("不支持的操作"), _l("此页面不支持这种访问方式，请从页面上的按钮进入。")),
    413: (_l("提交的内容过大"), _l("提交的内容超过了允许的大小，请返回上一页重试。")),
    500: (_l("服务出错了"), _l("服务器遇到了问题，我们已记录下来。请稍后重试。")),
    503: (_l("服务暂时不可用"), _l("服务暂时不可用，请稍候片刻后重试。")),
}
CSRF_MESSAGE = _l("页面已过期或表单校验失败，请刷新页面后重新提交。")


def render_error(code: int, message=None):
    title, default_message = ERROR_PAGES.get(code, ERROR_PAGES[500])
    return render_template("error.html", code=code, title=title, message=message or default_message), code


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection may be gone; the page must still render
        current_app.logger.warning("rollback failed", exc_info=True)


def _http_error(error: HTTPException):
    return render_error(error.code) if error.code in ERROR_PAGES else error


def _server_error(_error: InternalServerError):
    _rollback_quietly()
    return render_error(500)


def _database_unavailable(error: OperationalError):
    _rollback_quietly()
    current_app.logger.warning("database unavailable: %s", error.orig)
    return render_error(503)


def register_error_pages(app: Flask) -> None:
    app.register_error_handler(CSRFError, lambda _error: render_error(400, CSRF_MESSAGE))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(OperationalError, _database_unavailable)
