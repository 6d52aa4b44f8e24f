"""The floor: what Flask itself costs under the same gunicorn, without the product.

GET /bare answers a constant; GET /form renders a template with a CSRF-protected form (which
puts the CSRF token in a signed session cookie, as the product's pages do) and touches no database.
"""

from __future__ import annotations

import os

from flask import Flask, render_template
from flask_wtf import CSRFProtect, FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired


class FloorForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired()])
    submit = SubmitField("下一步")


def create_floor_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=os.environ["SECRET_KEY"], SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True)
    CSRFProtect(app)

    @app.get("/bare")
    def bare():
        return "ok"

    @app.get("/form")
    def form():
        return render_template("floor.html", form=FloorForm())

    return app


app = create_floor_app()
