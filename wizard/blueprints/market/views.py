from flask import abort, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from ...i18n import gettext as _
from ...i18n import lazy_gettext as _l
from . import bp, orders
from .buyers import ALI_UID, all_buyers, buyer_for, current_buyer, sign_in
from .forms import ActionForm, ActivateForm, SwitchBuyerForm
from .spi_client import SpiCallFailed

LIFECYCLE_DONE = {
    "renew": _l("续费成功，实例已恢复为已开通。"),
    "upgrade": _l("变配成功。"),
    "expire": _l("已模拟实例到期：实例已过期，工作空间冻结。"),
    "release": _l("实例已关闭。"),
}


def buyer_or_404():
    buyer = current_buyer()
    if buyer is None:
        abort(404)
    return buyer


def owned_order(order_id: str):
    order = orders.order_of(buyer_or_404().ali_uid, order_id)
    if order is None:
        abort(404)
    return order


def switch_form(**data) -> SwitchBuyerForm:
    form = SwitchBuyerForm(**data)
    form.ali_uid.choices = [SelectChoice(b.ali_uid) for b in all_buyers()]
    return form


def simulator_context() -> dict:
    """Every simulator page shows who is signed in and lets QA switch accounts.

    Passed by the views, not as a context processor: that would also run for the error pages of
    the simulator, and a 503 page would need the very database it reports as down.
    """
    buyer = current_buyer()
    return {"buyer": buyer, "switch": switch_form(ali_uid=buyer.ali_uid if buyer else None)}


def render_simulator(template: str, **context):
    return render_template(template, **simulator_context(), **context)


def render_product(dialog: str | None = None, **context):
    return render_simulator("market/product.html", dialog=dialog, **context)


@bp.get("/")
def product():
    """M1; `?aliUid=<digits>` signs the simulator in as that Aliyun account (created if new)."""
    ali_uid = request.args.get("aliUid")
    if ali_uid is None:
        return render_product()
    if not ALI_UID.fullmatch(ali_uid):
        flash(_("阿里云账号 ID 只能由数字组成。"), "error")
        return redirect(url_for("market.product"))
    return sign_in(redirect(url_for("market.product")), buyer_for(ali_uid))


@bp.post("/buyer")
def switch_buyer():
    form = switch_form()
    if not form.validate_on_submit():
        abort(400)
    return sign_in(redirect(url_for("market.product")), buyer_for(form.ali_uid.data))


@bp.route("/activate", methods=["GET", "POST"])
def activate():
    """M2 开通按量服务: without the agreement, a message and no order."""
    buyer = buyer_or_404()
    form = ActivateForm()
    if form.validate_on_submit():
        order = orders.place_order(buyer.ali_uid)
        return redirect(url_for("market.submitted", order_id=order.order_id))
    return render_product(dialog="activate", form=form), 400 if form.errors else 200


@bp.get("/orders/<order_id>/submitted")
def submitted(order_id: str):
    """M3 开通申请已提交."""
    return render_product(dialog="submitted", order=owned_order(order_id))


@bp.get("/instances")
def instances():
    """M4 已购买的服务; orders still 开通中 are retried on the way."""
    buyer = buyer_or_404()
    orders.retry_pending(buyer.ali_uid)
    releasing = orders.order_of(buyer.ali_uid, request.args.get("release", ""))
    return render_simulator(
        "market/instances.html", orders=orders.orders_of(buyer.ali_uid), releasing=releasing, form=ActionForm()
    )


@bp.post("/orders/<order_id>/retry")
def retry(order_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    if not orders.provision(owned_order(order_id)):
        flash(_("观测云暂时无法受理开通请求，订单仍在开通中，请稍后重试。"), "warning")
    return redirect(url_for("market.instances"))


@bp.get("/instances/<order_id>/login-free")
def login_free(order_id: str):
    """免登: off to the ISV's authUrl with a fresh timestamp and token."""
    order = owned_order(order_id)
    if order.status == "pending":
        abort(404)
    return redirect(orders.login_free_url(order))


@bp.post("/instances/<order_id>/<operation>")
def lifecycle(order_id: str, operation: str):
    """关闭, and the simulation menu: 续费, 变配, 到期."""
    if operation not in orders.LIFECYCLE or not ActionForm().validate_on_submit():
        abort(404 if operation not in orders.LIFECYCLE else 400)
    order = owned_order(order_id)
    if order.status == "pending":
        abort(404)
    try:
        orders.LIFECYCLE[operation](order)
        flash(str(LIFECYCLE_DONE[operation]), "success")
    except SpiCallFailed:
        flash(_("观测云暂时无法处理该请求，请稍后重试。"), "error")
    return redirect(url_for("market.instances"))
