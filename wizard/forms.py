"""All WTForms forms of the flow, with messages in the page's language."""

from __future__ import annotations

import unicodedata

from flask import flash
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from .choices import COMPANY_SIZES, DEFAULT_SITE, INDUSTRIES, SITES, WORKSPACE_LANGUAGES, WORKSPACE_STYLES, choices
from .i18n import lazy_gettext as _l
from .i18n import page_language
from .services import passwords
from .services.codes import PURPOSES
from .services.refusals import Refused


def show_refusal(form: FlaskForm | None, refusal: Refused, default_field: str | None = None) -> None:
    """Every refusal is shown one way: next to its field (or `default_field`) when the form has it,
    else as the page's error message. A code is never sent back: one is typed again."""
    name = refusal.field or default_field
    if form is not None and "code" in form:
        form["code"].data = ""
    if form is not None and name in form:
        form[name].errors = [*form[name].errors, refusal.message]
    else:
        flash(str(refusal.message), "error")


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
        # No maxlength: a pasted "356 365" must arrive whole (code_digits drops the space).
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
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


# ---- Fields shared by the registration and bind paths ----

USERNAME_PATTERN = r"^[a-z][a-z0-9_.-]{2,31}$"


def lower(value):
    return value.strip().lower() if isinstance(value, str) else value


def new_username_field() -> StringField:
    return StringField(
        _l("用户名"),
        filters=[lower],
        validators=[
            DataRequired(message=_l("请输入用户名")),
            Regexp(USERNAME_PATTERN, message=_l("用户名为 3–32 位，以字母开头，可包含字母、数字、_ . -")),
        ],
        render_kw={"autocomplete": "username"},
    )


def password_strength(form, field) -> None:
    """ASVS 2.1: length and guessability only (services/passwords.py); the verdict stays on the field
    for the strength meter."""
    personal = [form[name].data for name in ("username", "email") if name in form]
    field.strength = passwords.judge(field.data or "", *personal)
    if not field.strength.acceptable:
        raise ValidationError(field.strength.problem)


def new_password_fields() -> tuple[PasswordField, PasswordField]:
    password = PasswordField(
        _l("登录密码"),
        validators=[DataRequired(message=_l("请输入登录密码")), password_strength],
        render_kw={"autocomplete": "new-password", "maxlength": passwords.MAX_LENGTH},
    )
    confirm = PasswordField(
        _l("确认密码"),
        validators=[
            DataRequired(message=_l("请再次输入登录密码")),
            EqualTo("password", message=_l("两次输入的密码不一致")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


def phone_field(required: bool = False) -> StringField:
    """Mainland mobile numbers (11 digits) or an international number written +<country code>…"""
    presence = DataRequired(message=_l("请输入手机号")) if required else Optional()
    return StringField(
        _l("手机号"),
        filters=[code_digits],
        validators=[
            presence,
            Regexp(
                r"^(1[3-9][0-9]{9}|\+[1-9][0-9]{7,14})$",
                message=_l("请输入有效的手机号，如 13800138000 或 +85261234567"),
            ),
        ],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )


def agreement_field() -> BooleanField:
    return BooleanField(
        _l("我已阅读并同意《观测云用户协议》和《隐私政策》"),
        validators=[InputRequired(message=_l("请阅读并同意用户协议和隐私政策"))],
    )


def workspace_name_field() -> StringField:
    return StringField(
        _l("工作空间名称"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("请输入工作空间名称")),
            Length(max=64, message=_l("工作空间名称不能超过 64 个字符")),
        ],
    )


def interface_language() -> str:
    """A new workspace speaks the language its creator reads the page in, unless they choose otherwise."""
    language = page_language()
    return language if language in WORKSPACE_LANGUAGES else "zh"


def workspace_language_field() -> RadioField:
    return RadioField(
        _l("工作空间语言"),
        choices=choices(WORKSPACE_LANGUAGES),
        default=interface_language,
        validators=[InputRequired(message=_l("请选择工作空间语言"))],
    )


def workspace_style_field() -> SelectField:
    return SelectField(
        _l("工作空间风格"),
        choices=choices(WORKSPACE_STYLES),
        default="default",
        validators=[InputRequired(message=_l("请选择工作空间风格"))],
    )


def site_field(label=None) -> SelectField:
    return SelectField(
        label or _l("站点"),
        choices=choices(SITES),
        default=DEFAULT_SITE,
        validators=[InputRequired(message=_l("请选择站点"))],
    )


def placed_here(field: UnboundField) -> UnboundField:
    """A mixin's field declared again, so it takes this place in the form's order (and in the
    error summary, which lists errors in that order), not the mixin's place before every field."""
    return UnboundField(field.field_class, *field.args, name=field.name, **field.kwargs)


# ---- The bind path: B0-B2c ----


class SiteForm(FlaskForm):
    """B0's 站点 selector: the site of workspaces created later."""

    site = site_field()
    submit = SubmitField(_l("切换站点"))


class GuideForm(FlaskForm):
    """知道了 on the first-visit guide."""

    submit = SubmitField(_l("知道了"))


class BindBillingForm(CodeFieldsMixin, FlaskForm):
    """B1 绑定费用中心账号: the account's username, proved by a code sent to its email."""

    username = StringField(
        _l("用户名"), filters=[lower], validators=username_validators(), render_kw={"autocomplete": "username"}
    )
    submit = SubmitField(_l("绑定"))


class BindWorkspaceForm(FlaskForm):
    """绑定 on a row of B2: bind this instance to the workspace, at once."""

    submit = SubmitField(_l("绑定"))


class ExistingAccountWorkspaceForm(CodeFieldsMixin, FlaskForm):
    """B2b 有观测云账号: a new workspace owned by an existing Guance account, proved by its email."""

    name = workspace_name_field()
    language = workspace_language_field()
    style = workspace_style_field()
    email = StringField(
        _l("邮箱"),
        filters=[strip],
        validators=email_validators(),
        description=_l("注册观测云账号时使用的邮箱"),
        render_kw={"autocomplete": "email"},
    )
    code = placed_here(CodeFieldsMixin.code)
    agreement = agreement_field()
    submit = SubmitField(_l("创建"))


class NewAccountWorkspaceForm(CodeFieldsMixin, FlaskForm):
    """B2c 没有观测云账号: register a Guance account and create the workspace in one step. The account is the
    one R1 registers, so it asks what R1 asks (手机号 required, as on Guance's own registration page) and the
    workspace what B2b and R3 ask (工作空间风格)."""

    name = workspace_name_field()
    language = workspace_language_field()
    style = workspace_style_field()
    username = new_username_field()
    password, confirm = new_password_fields()
    email = StringField(_l("邮箱"), filters=[strip], validators=email_validators(), render_kw={"autocomplete": "email"})
    code = placed_here(CodeFieldsMixin.code)
    phone = phone_field(required=True)
    agreement = agreement_field()
    submit = SubmitField(_l("注册并创建工作空间"))


# ---- 免登 while another Aliyun account is mid-flow ----


class SwitchAccountForm(FlaskForm):
    """继续 with the new Aliyun account's 免登, or 取消 and stay with the current one."""

    proceed = SubmitField(_l("继续"))
    cancel = SubmitField(_l("取消"))


# ---- L1 ----


class LoginForm(FlaskForm):
    site = site_field()
    username = StringField(
        _l("用户名"),
        filters=[lower],
        validators=[DataRequired(message=_l("请输入用户名"))],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("密码"), validators=[DataRequired(message=_l("请输入密码"))], render_kw={"autocomplete": "current-password"}
    )
    submit = SubmitField(_l("登录"))


# ---- The registration path: R1-R3 ----


def optional_choice_field(label, vocabulary: dict) -> SelectField:
    """A select that may stay at 请选择 (stored as None)."""
    return SelectField(
        label,
        choices=[SelectChoice("", _l("请选择")), *choices(vocabulary)],
        default="",
        filters=[lambda value: value or None],
        validators=[Optional()],
    )


class RegisterBasicForm(CodeFieldsMixin, FlaskForm):
    """R1 基本信息: who the new Guance account is, its email proved by a code. All required."""

    site = site_field()
    username = new_username_field()
    password, confirm = new_password_fields()
    email = StringField(_l("邮箱"), filters=[strip], validators=email_validators(), render_kw={"autocomplete": "email"})
    code = placed_here(CodeFieldsMixin.code)
    phone = phone_field(required=True)
    submit = SubmitField(_l("下一步"))


class RegisterCompanyForm(FlaskForm):
    """R2 企业信息: the company name, 更多信息 (optional), the agreement; 注册 creates the Guance account."""

    company_name = StringField(
        _l("企业名称"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("请输入企业名称")),
            Length(max=128, message=_l("企业名称不能超过 128 个字符")),
        ],
        render_kw={"autocomplete": "organization"},
    )
    industry = optional_choice_field(_l("所属行业"), INDUSTRIES)
    company_size = optional_choice_field(_l("企业规模"), COMPANY_SIZES)
    contact_name = StringField(
        _l("联系人姓名"),
        filters=[strip, lambda value: value or None],
        validators=[Optional(), Length(max=64, message=_l("联系人姓名不能超过 64 个字符"))],
        render_kw={"autocomplete": "name"},
    )
    agreement = agreement_field()
    submit = SubmitField(_l("注册"))


class RegisterActivationForm(FlaskForm):
    """R3 选择开通方式: 阿里云市场开通, the workspace, and whether to create the billing-center account."""

    method = RadioField(
        _l("开通方式"),
        choices=choices({"aliyun": _l("阿里云市场开通")}),
        default="aliyun",
        validators=[InputRequired(message=_l("请选择开通方式"))],
    )
    workspace_name = workspace_name_field()
    workspace_language = workspace_language_field()
    workspace_style = workspace_style_field()
    create_billing_account = BooleanField(_l("同步创建费用中心账号"), default=True)
    agreement = agreement_field()
    submit = SubmitField(_l("开通"))


# ---- After activation: X2 解散, X3 立即解锁 ----


class DissolveWorkspaceForm(FlaskForm):
    """X2 解散: the owner types the workspace's name to confirm."""

    name = StringField(
        _l("工作空间名称"),
        filters=[strip],
        validators=[DataRequired(message=_l("请输入工作空间名称以确认解散"))],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    submit = SubmitField(_l("解散工作空间"))


class SettleBillingForm(CodeFieldsMixin, FlaskForm):
    """X3 切换为费用中心账号结算: the workspace's billing-center account confirms with a code to its email."""

    username = StringField(_l("费用中心账号"), render_kw={"readonly": True, "autocomplete": "off"})
    code = placed_here(CodeFieldsMixin.code)
    submit = SubmitField(_l("切换并解锁"))
