"""Simulated customers: each has its own Aliyun account, instance and accounts, so no two share a limit."""

from __future__ import annotations

import threading

from devtools.factories import PASSWORD as PASSWORD  # (re-exported: bench.scenarios)
from devtools.factories import SITE, BillingAccountFactory, GuanceAccountFactory, WorkspaceFactory
from wizard.extensions import db

DOMAIN = "bench.example"
# PASSWORD: the seeded accounts' (the factories'), and the one customers register with.
# What each branch needs seeded: a billing-center account with workspaces to bind (bind), an empty
# one and a Guance account without workspace (create), an empty one (register_workspace), nothing (register).
BRANCHES = ("bind", "create", "register_workspace", "register")
_PREFIX = {"bind": "bb", "create": "bc", "register_workspace": "bw", "register": "rg"}
WORKSPACES_PER_BILLING_ACCOUNT = 2


class Customer:
    """One simulated customer: every name derives from the branch and a number, so seeding and the
    client agree without sharing state."""

    def __init__(self, branch: str, number: int) -> None:
        self.branch, self.number = branch, number
        self.tag = tag = f"{_PREFIX[branch]}{number:06d}"
        self.ali_uid = f"27{BRANCHES.index(branch)}{number:010d}"
        self.order_biz_id = f"bench-{tag}"
        self.billing_username, self.billing_email = f"{tag}_billing", f"{tag}.billing@{DOMAIN}"
        # The Guance account that owns the seeded workspaces (bind) or has none yet (create).
        self.owner_username, self.owner_email = f"{tag}_owner", f"{tag}.owner@{DOMAIN}"
        # The Guance account the customer registers (register_workspace, register).
        self.new_username, self.new_email = f"{tag}_new", f"{tag}.new@{DOMAIN}"


class Pool:
    """Hands out each seeded customer once, across threads; None when all are used."""

    def __init__(self, branch: str, size: int) -> None:
        self.branch, self.size = branch, size
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> Customer | None:
        with self._lock:
            if self.used >= self.size:
                return None
            self.used += 1
            return Customer(self.branch, self.used - 1)


def seed(sizes: dict[str, int], batch: int = 500) -> None:
    """Create, from the test data's factories (devtools/factories.py), what `sizes[branch]` customers of
    each branch need, `batch` customers to a commit.

    Called inside an application context. The rows are built, not created one by one, and added in
    bulk; every seeded account shares the factories' quick password hash.
    """
    for branch in ("bind", "create", "register_workspace"):
        for start in range(0, sizes.get(branch, 0), batch):
            for number in range(start, min(start + batch, sizes[branch])):
                db.session.add_all(_records(Customer(branch, number)))
            db.session.commit()


def _records(customer: Customer) -> list:
    """The billing-center account (every seeded branch), its owner (bind, create), its workspaces (bind)."""
    billing = BillingAccountFactory.build(username=customer.billing_username, email=customer.billing_email)
    if customer.branch not in ("bind", "create"):
        return [billing]
    owner = GuanceAccountFactory.build(site=SITE, username=customer.owner_username, email=customer.owner_email)
    workspaces = [
        WorkspaceFactory.build(name=f"{customer.tag} 工作空间 {index + 1}", owner=owner, billing_account=billing)
        for index in range(WORKSPACES_PER_BILLING_ACCOUNT if customer.branch == "bind" else 0)
    ]
    return [billing, owner, *workspaces]
