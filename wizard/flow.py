"""The wizard's steps, their order and their guards: the one place that knows the flow.

The session is only a cursor: it carries the signed marketplace login (and, later, ids of what
was verified); every page asks this module where the user really is, from the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import wraps

from flask import current_app, redirect, render_template, session, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .extensions import db
from .models import CloudAccountBinding, MarketplaceInstance
from .services.sso import MarketplaceLogin, issue_marketplace_login, read_marketplace_login

MARKETPLACE_LOGIN_KEY = "market_login"

# Step indicators of the two paths, as the documentation numbers them.
REGISTER_STEPS = (_l("基本信息"), _l("企业信息"), _l("选择开通方式"))
BIND_STEPS = (_l("绑定费用中心账号"), _l("绑定工作空间"))


class Stage(Enum):
    """How far the activation is, as the database says."""

    UNBOUND = "unbound"  # the Aliyun account has no billing-center account yet: G1, R1-R3, B0/B1
    BOUND = "bound"  # billing-center account bound, instance not yet bound to a workspace: B2, B2a-c
    ACTIVATED = "activated"  # both bound: B3, S1


@dataclass(frozen=True)
class Activation:
    """Where one marketplace login stands, read from the database."""

    login: MarketplaceLogin
    instance: MarketplaceInstance
    binding: CloudAccountBinding | None

    @property
    def stage(self) -> Stage:
        if self.binding is None:
            return Stage.UNBOUND
        return Stage.ACTIVATED if self.instance.workspace_id is not None else Stage.BOUND

    @property
    def entry_endpoint(self) -> str:
        """Where 免登 lands: success when activated, B2 when the Aliyun account is bound, else G1."""
        return STAGE_ENTRY[self.stage]


STAGE_ENTRY = {Stage.UNBOUND: "choose.index", Stage.BOUND: "bind.workspaces", Stage.ACTIVATED: "done.success"}


def start_marketplace_session(login: MarketplaceLogin) -> None:
    """A fresh session holding only the new marketplace login (nothing of a previous visitor)."""
    session.clear()
    session[MARKETPLACE_LOGIN_KEY] = issue_marketplace_login(login, current_app.config["SECRET_KEY"])


def current_login() -> MarketplaceLogin | None:
    return read_marketplace_login(
        session.get(MARKETPLACE_LOGIN_KEY),
        current_app.config["SECRET_KEY"],
        current_app.config["MARKET_LOGIN_MAX_AGE"],
    )


def load_activation(login: MarketplaceLogin) -> Activation | None:
    instance = db.session.scalar(select(MarketplaceInstance).filter_by(instance_id=login.instance_id))
    if instance is None or instance.status != "active":
        return None
    binding = db.session.scalar(select(CloudAccountBinding).filter_by(ali_uid=login.ali_uid))
    return Activation(login=login, instance=instance, binding=binding)


def entry_url(login: MarketplaceLogin) -> str:
    activation = load_activation(login)
    return url_for(activation.entry_endpoint if activation else "choose.index")


def login_required_page():
    """The page shown when a wizard page is opened without a valid marketplace login."""
    return render_template("flow/login_required.html"), 401


def wizard_page(*stages: Stage):
    """Guard a page: it needs a valid marketplace login and one of `stages`, else the right step.

    The view receives the current Activation as its first argument.
    """

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            login = current_login()
            activation = load_activation(login) if login else None
            if activation is None:
                return login_required_page()
            if activation.stage not in stages:
                return redirect(url_for(activation.entry_endpoint))
            return view(activation, *args, **kwargs)

        return guarded

    return decorate
