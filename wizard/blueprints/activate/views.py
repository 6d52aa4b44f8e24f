from flask import redirect, url_for

from ...flow import Activation
from ...forms import ChoosePathForm
from ...pages import PAGES, render_page, route
from ...services.workspaces import login_usernames
from . import bp

NEXT_STEP = {"register": PAGES["R1"].endpoint, "bind": PAGES["B1"].endpoint}


@route(bp, "G1")
def choose(activation: Activation):
    form = ChoosePathForm()
    if form.validate_on_submit():
        return redirect(url_for(NEXT_STEP[form.path.data]))
    return render_page(form=form, activation=activation)


@route(bp, "S1")
def success(activation: Activation):
    return render_page(
        activation=activation,
        workspace=activation.bound_workspace,
        usernames=login_usernames(activation.bound_workspace),
        billing_account=activation.bound_binding.billing_account,
    )
