"""The market API (Alibaba Cloud Marketplace OpenAPI, version 2015-11-01) as the official SDK calls it:
signed POST requests to the endpoint's root path, the action named by the request (x-acs-action or
Action). Browsers' GET / stays M1, the product page."""

from flask import Blueprint

bp = Blueprint("market_api", __name__)

from . import views  # noqa: F401
