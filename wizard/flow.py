"""The wizard's steps, their order and their guards: the one place that knows the flow."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

# Step indicators of the two paths, as the documentation numbers them.
REGISTER_STEPS = (_l("基本信息"), _l("企业信息"), _l("选择开通方式"))
BIND_STEPS = (_l("绑定费用中心账号"), _l("绑定工作空间"))
