"""POST /codes/send: 获取验证码 without a reload, answered in JSON for app.js."""

from __future__ import annotations

from ... import flow
from ...forms import CodeRequestForm
from ..json_errors import answer, answer_errors_in_json
from . import bp
from .pages import CodeStatus, request_status, send_limit


@bp.post("/send")
@send_limit
def send():
    """{ok, message, retry_after}: 200 sent, 400 bad input, 401 no wizard login, 429 wait, 503 mail down."""
    if flow.current_login() is None:  # only a customer in the wizard may have codes sent
        return _answer(CodeStatus(False, str(flow.NO_WIZARD_LOGIN)), 401)
    form = CodeRequestForm()
    if not form.validate():
        return _answer(CodeStatus(False, str(_first_error(form))), 400)
    status = request_status(form.purpose.data, form.identifier.data)
    if status.ok:
        return _answer(status, 200)
    return _answer(status, 429 if status.retry_after else 503)


def _first_error(form) -> str:
    return next(iter(form.errors.values()))[0]


def _answer(status: CodeStatus, code: int):
    return answer(status.ok, status.message, code, status.retry_after)


answer_errors_in_json(bp)
