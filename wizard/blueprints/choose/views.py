from flask import redirect, render_template, url_for

from ...flow import Activation, Stage, wizard_page
from ...forms import ChoosePathForm
from . import bp

NEXT_STEP = {"register": "register.basic", "bind": "bind.billing_account"}


@bp.route("/", methods=["GET", "POST"])
@wizard_page(Stage.UNBOUND)
def index(activation: Activation):
    form = ChoosePathForm()
    if form.validate_on_submit():
        return redirect(url_for(NEXT_STEP[form.path.data]))
    return render_template("choose/index.html", form=form, activation=activation)
