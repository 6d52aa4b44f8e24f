from flask import render_template

from . import bp


@bp.get("/")
def product():
    """M1: the product page of 观测云 on the marketplace."""
    return render_template("market/product.html")
