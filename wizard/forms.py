"""All WTForms forms of the flow, with messages in the page's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField
from wtforms.validators import InputRequired

from .choices import choices


class ChoosePathForm(FlaskForm):
    """G1: does the customer already have a billing-center account?"""

    path = RadioField(
        _l("开通方式"),
        choices=choices({"register": _l("没有费用中心账号"), "bind": _l("有费用中心账号")}),
        validators=[InputRequired(message=_l("请选择一种开通方式"))],
    )
    submit = SubmitField(_l("下一步"))
