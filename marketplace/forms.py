"""The simulator's forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Regexp

from .buyers import ALI_UID


class ActivateForm(FlaskForm):
    """M2 开通按量服务: the agreement must be accepted."""

    agreement = BooleanField(
        _l("我已阅读并同意《云市场平台服务协议》和《观测云用户协议》"),
        validators=[InputRequired(message=_l("请先阅读并同意服务协议"))],
    )
    submit = SubmitField(_l("开通"))


class SignInForm(FlaskForm):
    """The sign-in picker: a demo buyer's button, or any Aliyun account ID typed in."""

    ali_uid = StringField(
        _l("阿里云账号 ID"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired(message=_l("请输入阿里云账号 ID")),
            Regexp(rf"^{ALI_UID.pattern}$", message=_l("阿里云账号 ID 只能由数字组成（不以 0 开头，最多 32 位）。")),
        ],
        render_kw={"inputmode": "numeric", "autocomplete": "username"},
    )
    submit = SubmitField(_l("登录"))


class ActionForm(FlaskForm):
    """A button that changes something (retry, release, lifecycle simulation, sign out): CSRF only."""
