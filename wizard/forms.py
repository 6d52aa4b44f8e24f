"""All WTForms forms of the flow, with messages in the page's language."""
from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, SubmitField
from wtforms.validators import AnyOf, DataRequired, Email, InputRequired, Length, Regexp

from .choices import choices
from .services.codes import PURPOSES


class ChoosePathForm(FlaskForm):
    """G1: does the customer already have a billing-center account?"""

    path = RadioField(
        _l("开通方式"),
        choices=choices({"register": _l("没有费用中心账号"), "bind": _l("有费用中心账号")}),
        validators=[InputRequired(message=_l("请选择一种开通方式"))],
    )
    submit = SubmitField(_l("下一步"))


def strip(value):
    """Spaces around a value are never meant (pasted addresses often carry them)."""
    return value.strip() if isinstance(value, str) else value


def code_digits(value):
    """Full-width digits from a Chinese input method are digits too; spaces inside are ignored."""
    if not isinstance(value, str):
        return value
    return "".join(unicodedata.normalize("NFKC", value).split())


def email_validators() -> list:
    return [
        DataRequired(message=_l("请输入邮箱")),
        Length(max=254, message=_l("邮箱地址过长")),
        Email(message=_l("请输入有效的邮箱地址")),
    ]


def username_validators() -> list:
    return [DataRequired(message=_l("请输入用户名")), Length(max=64, message=_l("用户名不能超过 64 个字符"))]


# What 获取验证码 accepts as the identifier of each kind of purpose (services.codes.PURPOSES).
IDENTIFIER_VALIDATORS = {"email": email_validators, "username": username_validators}


class CodeFieldsMixin:
    """验证码 and 获取验证码, for a form that also has the email or username the code is for.

    How a page plugs it in: see wizard/blueprints/codes/__init__.py.
    """

    code = StringField(
        _l("验证码"),
        filters=[code_digits],
        validators=[DataRequired(message=_l("请输入验证码")), Regexp(r"^[0-9]{6}$", message=_l("验证码是 6 位数字"))],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 6},
    )
    send_code = SubmitField(_l("获取验证码"))
    # The outcome of the last 获取验证码 (a CodeStatus), set by handle_send_code for the template.
    code_status = None


class CodeRequestForm(FlaskForm):
    """获取验证码 without a reload (POST /codes/send): the purpose and the email or username typed."""

    class Meta:
        csrf = False  # CSRFProtect has already checked the X-CSRFToken header or csrf_token field

    purpose = StringField(validators=[AnyOf(list(PURPOSES), message=_l("请求无效"))])
    identifier = StringField(filters=[strip])

    def validate_identifier(self, field) -> None:
        purpose = PURPOSES.get(self.purpose.data)
        for validator in IDENTIFIER_VALIDATORS[purpose.identifier]() if purpose else ():
            validator(self, field)
