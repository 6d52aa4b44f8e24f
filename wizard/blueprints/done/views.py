from flask import render_template

from ...flow import Activation, Stage, wizard_page
from . import bp


@bp.get("/success")
@wizard_page(Stage.ACTIVATED)
def success(activation: Activation):
    return render_template(
        "done/success.html",
        activation=activation,
        workspace=activation.instance.workspace,
        billing_account=activation.binding.billing_account,
    )
