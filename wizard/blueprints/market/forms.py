"""The simulator's forms (it is another party, so its forms live with it)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SubmitField
from wtforms.validators import InputRequired

from ...i18n import lazy_gettext as _l


class ActivateForm(FlaskForm):
    """M2 开通按量服务: the agreement must be accepted."""

    agreement = BooleanField(
        _l("我已阅读并同意《云市场平台服务协议》和《观测云服务协议》"),
        validators=[InputRequired(message=_l("请先阅读并同意服务协议"))],
    )
    submit = SubmitField(_l("开通"))


class SwitchBuyerForm(FlaskForm):
    ali_uid = SelectField(_l("当前阿里云账号"), validate_choice=True)
    submit = SubmitField(_l("切换"))


class ActionForm(FlaskForm):
    """A button that changes something (retry, release, lifecycle simulation): CSRF only."""
