"""B2a-B2c 创建工作空间: with an existing Guance account, or registering one at the same time."""

from flask import Blueprint

bp = Blueprint("workspace", __name__)

from . import views  # noqa: F401
