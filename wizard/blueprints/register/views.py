from flask import render_template

from ... import flow
from ...flow import Activation, Stage, wizard_page
from ...forms import RegisterActivationForm, RegisterBasicForm, RegisterCompanyForm
from . import bp


@bp.route("/basic", methods=["GET", "POST"])
@wizard_page(Stage.UNBOUND)
def basic(activation: Activation):
    """R1 基本信息."""
    form = RegisterBasicForm(site=flow.chosen_site())
    return render_template("register/basic.html", form=form, activation=activation)


@bp.route("/company", methods=["GET", "POST"])
@wizard_page(Stage.UNBOUND)
def company(activation: Activation):
    """R2 企业信息."""
    return render_template("register/company.html", form=RegisterCompanyForm(), activation=activation)


@bp.route("/activation", methods=["GET", "POST"])
@wizard_page(Stage.UNBOUND)
def activation(activation: Activation):
    """R3 选择开通方式."""
    return render_template("register/activation.html", form=RegisterActivationForm(), activation=activation)
