"""获取验证码 for every wizard page that needs a code: R1, B1, B2b and B2c.

A page plugs it in with its form, one decorator, two calls in its view and two macros:

    # wizard/forms.py: the form gets 验证码 (code) and 获取验证码 (send_code)
    class BasicInfoForm(CodeFieldsMixin, FlaskForm):
        email = StringField(_l("邮箱"), filters=[strip], validators=email_validators())
        ...

    # the page's view
    from ..codes import handle_send_code, redeem_code, send_limit

    @bp.route("/basic", methods=["GET", "POST"])
    @send_limit  # 获取验证码 submissions share the per-IP limit with POST /codes/send
    def basic_info():
        form = BasicInfoForm()
        if handle_send_code(form, "email", "register"):  # 获取验证码 pressed without JavaScript
            return render_template("register/basic.html", form=form)
        if form.validate_on_submit():
            try:  # the code is used up only if the action commits
                redeem_code(form, "email", "register", lambda: record(form))
                return redirect(...)
            except Refused as refusal:  # the code's, or the action's (the code then still valid)
                show_refusal(form, refusal)
        return render_template("register/basic.html", form=form)

    {# the page's template #}
    {% from "macros/codes.html" import code_field, default_submit %}
    <form method="post" novalidate>
      {{ default_submit(form.submit) }}  {# Enter in a field means 下一步, not 获取验证码 #}
      ...
      {{ code_field(form, "email", "register") }}

No page says anything about what was typed besides the code before the code is right (R1:
whether the username is taken): `redeem_code` checks the code first, then runs the action, which
refuses (a refusal costs the code a try, never the code itself) or commits with the code used up.

The purposes and where each code goes are in services/codes.py (PURPOSES); B1 passes the username
field and "bind_billing". With JavaScript, app.js sends the same request to POST /codes/send and
counts down on the button; without it, the button submits the page's own form, handle_send_code
checks only the identifier field, sends, and the page re-renders with what the user typed (not
passwords or the code) and the outcome next to the code field.
"""

from flask import Blueprint

bp = Blueprint("codes", __name__, url_prefix="/codes")

from . import views  # noqa: F401
from .pages import CodeStatus, handle_send_code, redeem_code, send_limit  # noqa: F401
