"""Whole activations, one function per branch, walked by the customer driver (devtools/customer.py)
as a browser with JavaScript would.

Each step checks where the product sent the customer; anything else raises FlowError, so an
activation counts only when the customer really reached S1 (and, where an account was created,
logged in with it).
"""

from __future__ import annotations

from dataclasses import dataclass

from devtools.alibaba import Alibaba
from devtools.customer import Customer as Walker
from devtools.customer import NewAccount

from .browser import Browser, FlowError
from .customers import PASSWORD, Customer
from .mail import Inbox

WORKSPACE_NAME = "性能测试空间"


@dataclass(frozen=True)
class Marketplace:
    """What the customer's side of the run needs: the ISV key to sign as Alibaba Cloud, the inbox."""

    isv_key: str
    inbox: Inbox


def walker(browser: Browser, market: Marketplace) -> Walker:
    """The customer at `browser`; Alibaba Cloud's SPI calls go out from the same machine (no cookie read)."""
    return Walker(browser, market.inbox, Alibaba(market.isv_key, browser))


def new_account(customer: Customer) -> NewAccount:
    """The Guance account the customer registers (register_workspace, register)."""
    return NewAccount(customer.new_username, customer.new_email, PASSWORD)


# ---- Steps shared by the branches ----


def arrive(browser: Browser, customer: Customer, market: Marketplace) -> Walker:
    """开通 on the marketplace (SPI createInstance), then 免登 (verify) to G1."""
    walking = walker(browser, market)
    walking.arrive(customer.ali_uid, customer.order_biz_id)
    if walking.instance_id != customer.order_biz_id:
        raise FlowError(f"createInstance answered instance {walking.instance_id}")
    return walking


def reach_b2(browser: Browser, customer: Customer, market: Marketplace) -> Walker:
    """免登, G1 有费用中心账号, B1: the Aliyun account is bound; at B2."""
    walking = arrive(browser, customer, market)
    walking.choose("bind")
    walking.bind_billing(customer.billing_username, customer.billing_email)
    return walking


def log_in(walking: Walker, username: str) -> None:
    """L1 with the new credentials, then the console shows the workspace."""
    console = walking.log_in(username, PASSWORD)
    if "商业版" not in console.text:
        raise FlowError("the console does not show the Commercial Edition workspace")


# ---- The branches ----


def bind_existing(browser: Browser, customer: Customer, market: Marketplace) -> None:
    """有费用中心账号: bind the billing-center account, then one of its workspaces."""
    walking = reach_b2(browser, customer, market)
    walking.bind_workspace()
    walking.finish()


def create_with_existing_account(browser: Browser, customer: Customer, market: Marketplace) -> None:
    """B2b: the billing-center account has no workspace; create one owned by an existing Guance account."""
    walking = reach_b2(browser, customer, market)
    walking.create_workspace("existing", customer.owner_email, WORKSPACE_NAME, style="ops")
    walking.finish()


def register_workspace(browser: Browser, customer: Customer, market: Marketplace) -> None:
    """B2c: register a Guance account and its workspace, then log in with it."""
    walking, account = reach_b2(browser, customer, market), new_account(customer)
    fields = {"username": account.username, "password": PASSWORD, "confirm": PASSWORD, "phone": account.phone}
    walking.create_workspace("register", account.email, WORKSPACE_NAME, style="default", **fields)
    walking.finish()
    log_in(walking, account.username)


def register(browser: Browser, customer: Customer, market: Marketplace) -> None:
    """没有费用中心账号: R1, R2, R3, then log in with the new account."""
    walking = arrive(browser, customer, market)
    walking.choose("register")
    walking.register_basic(new_account(customer))
    walking.register_company("性能测试有限公司")
    walking.register_activation(WORKSPACE_NAME)
    log_in(walking, customer.new_username)


BRANCH_FLOWS = {
    "bind": bind_existing,
    "create": create_with_existing_account,
    "register_workspace": register_workspace,
    "register": register,
}
