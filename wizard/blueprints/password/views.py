from flask import current_app, jsonify, request

from ... import flow
from ...extensions import limiter
from ...i18n import gettext as _
from ...services import passwords
from ..json_errors import answer, answer_errors_in_json
from . import bp

answer_errors_in_json(bp)


def _per_ip_limit() -> str:
    return f"{current_app.config['PASSWORD_CHECKS_PER_IP_PER_MINUTE']} per minute"


@bp.post("/strength")
@limiter.limit(_per_ip_limit)
def strength():
    """{score 0-4, acceptable, message}: the verdict the form would give, for a customer in the wizard."""
    if flow.current_login() is None:
        return answer(False, flow.NO_WIZARD_LOGIN, 401)
    form = request.form
    verdict = passwords.judge(form.get("password", ""), form.get("username", ""), form.get("email", ""))
    return jsonify(score=verdict.score, acceptable=verdict.acceptable, message=describe(verdict))


def describe(verdict: passwords.Strength) -> str:
    level = _("密码强度：%(level)s", level=verdict.level)
    return level if verdict.acceptable else f"{level}。{verdict.problem}"
