"""B0-B3 绑定观测云工作空间: bind a billing-center account, then a workspace, to the Aliyun account."""

from flask import Blueprint

bp = Blueprint("bind", __name__)

from . import views  # noqa: F401
