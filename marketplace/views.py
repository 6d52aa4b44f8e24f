"""M1-M4: the marketplace pages a customer sees, at the simulator's root."""

from __future__ import annotations

from functools import wraps
from typing import TypeGuard
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from . import billing, clock, orders
from .buyers import ALI_UID, buyer_for, current_buyer, known_buyers, set_cookie, sign_in, sign_out
from .forms import ActionForm, ActivateForm, SignInForm
from .models import OrderStatus
from .spi_client import SpiCallFailed

bp = Blueprint("market", __name__)

LIFECYCLE_DONE = {
    "renew": _l("续费成功，实例已恢复为已开通。"),
    "upgrade": _l("变配成功。"),
    "expire": _l("已模拟实例到期：实例已过期，其工作空间进入锁定倒计时。"),
    "release": _l("实例已关闭。"),
}


def is_local_path(target: str | None) -> TypeGuard[str]:
    """Only a path on this site: no scheme, host, protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    return not urlsplit(target).netloc and "\\" not in target and not any(ord(c) < 32 for c in target)


@bp.before_app_request
def sign_in_from_the_url():
    """`?aliUid=<digits>` on any page signs the simulator in as that Aliyun account (created if new)."""
    ali_uid = request.args.get("aliUid") if request.method == "GET" else None
    if ali_uid is None or request.endpoint == "static":
        return None
    if not ALI_UID.fullmatch(ali_uid):
        flash(_("阿里云账号 ID 只能由数字组成（不以 0 开头，最多 32 位）。"), "error")
        return redirect(url_for("market.signin"))
    before = current_buyer()
    if before is not None and before.ali_uid != ali_uid:  # never a silent switch to another buyer's page
        flash(_("已切换到阿里云账号 %(uid)s（原账号 %(before)s）。", uid=ali_uid, before=before.ali_uid), "info")
    rest = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "aliUid"])
    return sign_in(redirect(request.path + (f"?{rest}" if rest else "")), buyer_for(ali_uid))


def buyer_required(view):
    """The page needs a signed-in buyer; otherwise the sign-in picker, coming back here after."""

    @wraps(view)
    def signed_in(*args, **kwargs):
        buyer = current_buyer()
        if buyer is None:
            return redirect(url_for("market.signin", next=request.full_path.rstrip("?")))
        return view(buyer, *args, **kwargs)

    return signed_in


def owned_order(buyer, order_id: str):
    """The buyer's own order, or 404: nobody reaches another account's orders."""
    order = orders.order_of(buyer.ali_uid, order_id)
    if order is None:
        abort(404)
    return order


def render_page(template: str, **context):
    return render_template(template, buyer=current_buyer(), action_form=ActionForm(), **context)


def render_product(dialog: str | None = None, **context):
    return render_page("product.html", dialog=dialog, **context)


@bp.get("/")
def product():
    """M1 the product page; without a signed-in buyer it leads to the sign-in picker."""
    return render_product()


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    """The sign-in picker: a demo buyer, or any Aliyun account ID."""
    form = SignInForm()
    target = request.values.get("next")
    if form.validate_on_submit():
        return sign_in(redirect(target if is_local_path(target) else url_for("market.product")),
                       buyer_for(form.ali_uid.data))  # fmt: skip
    status = 400 if form.errors else 200
    return render_page("signin.html", form=form, demo_buyers=known_buyers(), next=target), status


@bp.post("/signout")
def signout():
    if not ActionForm().validate_on_submit():
        abort(400)
    return sign_out(redirect(url_for("market.signin")))


@bp.route("/activate", methods=["GET", "POST"])
@buyer_required
def activate(buyer):
    """M2 开通按量服务: without the agreement, a message and no order."""
    form = ActivateForm()
    if form.validate_on_submit():
        order = orders.place_order(buyer.ali_uid)
        return redirect(url_for("market.submitted", order_id=order.order_id))
    return render_product(dialog="activate", form=form), 400 if form.errors else 200


@bp.get("/agreements/marketplace")
def agreement():
    """《云市场平台服务协议》: the short demo text the M2 agreement links to."""
    return render_page("agreement.html")


@bp.get("/orders/<order_id>/submitted")
@buyer_required
def submitted(buyer, order_id: str):
    """M3 开通申请已提交."""
    return render_product(dialog="submitted", order=owned_order(buyer, order_id))


@bp.get("/instances")
@buyer_required
def instances(buyer):
    """M4 已购买的服务 (the worker retries orders still 开通中; 重试开通 does it at once). `?instanceId=` (the
    ISV's 立即解锁 → 续费) points at that instance of the buyer's, with its 续费 button."""
    releasing = orders.order_of(buyer.ali_uid, request.args.get("release", ""))
    renewing = orders.order_by_instance(buyer.ali_uid, request.args.get("instanceId"))
    return render_page("instances.html", orders=orders.orders_of(buyer.ali_uid), releasing=releasing,
                       renewing=renewing)  # fmt: skip


@bp.post("/orders/<order_id>/retry")
@buyer_required
def retry(buyer, order_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    order = owned_order(buyer, order_id)
    if order.state is OrderStatus.PENDING and not orders.provision(order):
        flash(_("观测云暂时无法受理开通请求，订单仍在开通中，请稍后重试。"), "warning")
    return redirect(url_for("market.instances"))


@bp.get("/instances/<order_id>/login-free")
@buyer_required
def login_free(buyer, order_id: str):
    """免登: off to the ISV's authUrl with a fresh timestamp and token, for the buyer's own instance."""
    order = owned_order(buyer, order_id)
    if not order.state.opened:
        abort(404)
    return redirect(orders.login_free_url(order))


@bp.post("/instances/<order_id>/<operation>")
@buyer_required
def lifecycle(buyer, order_id: str, operation: str):
    """关闭, and the simulation menu: 续费, 变配, 到期."""
    if operation not in orders.LIFECYCLE:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    order = owned_order(buyer, order_id)
    if not order.state.opened:
        abort(404)
    try:
        orders.LIFECYCLE[operation](order)
        flash(str(LIFECYCLE_DONE[operation]), "success")
    except SpiCallFailed:
        flash(_("观测云暂时无法处理该请求，请稍后重试。"), "error")
    except orders.ExpiryNotSimulated:
        flash(_("该实例已续费：续费后的实例在到期时间后自动到期，不能再模拟提前到期。"), "warning")
    return redirect(url_for("market.instances"))


# The metering items of the price list, by their marketplace key.
METERING_ITEMS = {"DataPoints": _l("数据点（个）"), "ApiCalls": _l("API 调用（次）")}


@bp.get("/instances/<order_id>/bill")
@buyer_required
def bill(buyer, order_id: str):
    """M5 费用账单: one instance's usage billed in a month (this one, or ?month=YYYY-MM), hour by hour."""
    order = owned_order(buyer, order_id)
    if order.instance_id is None:
        abort(404)
    timezone = current_app.config["MARKET_TIMEZONE"]
    this_month = billing.Month.of(clock.now(), timezone)
    month = billing.Month.parse(request.args.get("month"), this_month)
    page = request.args.get("page", 1, type=int)
    statement = billing.bill_of(order, month, timezone, page)
    return render_page("bill.html", bill=statement, this_month=this_month, items=METERING_ITEMS)


@bp.post("/language")
def set_language():
    """Keep the chosen interface language in the simulator's own cookie and return to the page."""
    target = request.form.get("next")
    response = redirect(target if is_local_path(target) else url_for("market.product"))
    language = request.form.get("lang")
    config = current_app.config
    if language is not None and language in config["LANGUAGES"]:
        set_cookie(response, config["LANGUAGE_COOKIE"], language, max_age=365 * 24 * 3600)
    return response
