"""The operators' console forms (CSRF on every one: each POST changes something and is audited)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from ...choices import choices
from ...forms import code_digits, strip
from ...i18n import lazy_gettext as _l
from ...services.ops.webhooks import EVENTS


class OpsLoginForm(FlaskForm):
    username = StringField(
        _l("运维账号"),
        filters=[strip],
        validators=[DataRequired(message=_l("请输入运维账号")), Length(max=64, message=_l("运维账号过长"))],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("密码"),
        validators=[DataRequired(message=_l("请输入密码")), Length(max=256, message=_l("密码过长"))],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("下一步"))


class TotpForm(FlaskForm):
    code = StringField(
        _l("动态验证码"),
        filters=[code_digits],
        validators=[
            DataRequired(message=_l("请输入认证器中的 6 位验证码")),
            Regexp(r"^[0-9]{6}$", message=_l("验证码为 6 位数字")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 6},
    )
    submit = SubmitField(_l("登录"))


class ActionForm(FlaskForm):
    """A button that changes something (retry, send a test event, sign out): only the CSRF token."""

    submit = SubmitField(_l("确定"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WebhookForm(FlaskForm):
    url = StringField(
        _l("接收地址（URL）"),
        filters=[strip],
        validators=[DataRequired(message=_l("请输入接收地址")), Length(max=2048, message=_l("网址过长"))],
        render_kw={"placeholder": "https://isv.example/hooks/guance", "inputmode": "url"},
    )
    description = StringField(_l("备注"), filters=[strip], validators=[Length(max=200, message=_l("备注过长"))])
    events = MultiCheckboxField(
        _l("事件"),
        choices=choices(EVENTS),
        validators=[DataRequired(message=_l("请至少选择一个事件"))],
    )
    submit = SubmitField(_l("添加 Webhook"))
