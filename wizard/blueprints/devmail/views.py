from flask import current_app, redirect, render_template, request, url_for

from . import bp
from .mailbox import clear_messages, read_messages


@bp.get("/")
def inbox():
    recipient = request.args.get("to", "").strip()
    messages = read_messages(current_app.config["DEV_MAILBOX_DIR"], to=recipient or None)
    return render_template("devmail/inbox.html", messages=messages, recipient=recipient)


@bp.post("/clear")
def clear():
    clear_messages(current_app.config["DEV_MAILBOX_DIR"])
    return redirect(url_for("devmail.inbox"))
