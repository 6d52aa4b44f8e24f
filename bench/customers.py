"""Simulated customers: each has its own Aliyun account, instance and accounts, so no two share a limit."""

from __future__ import annotations

import threading

from werkzeug.security import generate_password_hash

from wizard.extensions import db
from wizard.models import BillingAccount, GuanceAccount, Workspace, WorkspaceMember

PASSWORD = "Guance-Bench-2026"
SITE = "cn1"
DOMAIN = "bench.example"
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
    """Create, through the application's models, what `sizes[branch]` customers of each branch need.

    Called inside an application context. One password hash serves every seeded account: hashing
    thousands of passwords would take minutes and tell nothing about the pages.
    """
    password_hash = generate_password_hash(PASSWORD)
    for branch in ("bind", "create", "register_workspace"):
        for start in range(0, sizes.get(branch, 0), batch):
            numbers = range(start, min(start + batch, sizes[branch]))
            db.session.add_all(_records(branch, numbers, password_hash))
            db.session.commit()


def _records(branch: str, numbers: range, password_hash: str) -> list:
    records = []
    for number in numbers:
        customer = Customer(branch, number)
        billing = BillingAccount(
            username=customer.billing_username, email=customer.billing_email, password_hash=password_hash
        )
        records.append(billing)
        if branch in ("bind", "create"):
            owner = GuanceAccount(
                site=SITE, username=customer.owner_username, email=customer.owner_email, password_hash=password_hash
            )
            records.append(owner)
        if branch == "bind":
            for index in range(WORKSPACES_PER_BILLING_ACCOUNT):
                workspace = Workspace(
                    name=f"{customer.tag} 工作空间 {index + 1}",
                    language="zh",
                    style="ops",
                    site=SITE,
                    owner=owner,
                    billing_account=billing,
                )
                workspace.members.append(WorkspaceMember(account=owner, role="owner"))
                records.append(workspace)
    return records
