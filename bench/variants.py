"""The product with one thing taken out, to measure what that thing costs: `bench.variants:app`.

BENCH_VARIANT picks it (the rest of the configuration comes from the environment as for wsgi.py):
  product             the product as deployed
  no-rate-limit       Flask-Limiter disabled (RATELIMIT_ENABLED=False): what the per-IP limits cost
  no-html-attributes  WTForms' own html_params again instead of wizard/html_attributes.py
  no-i18n-cache       every translated string resolves its catalog through Flask-Babel's public
                      get_translations(), instead of wizard/i18n.py's once-per-request lookup
"""

from __future__ import annotations

import os

from flask import Flask

from wizard import create_app

VARIANTS = ("product", "no-rate-limit", "no-html-attributes", "no-i18n-cache")


def build(variant: str) -> Flask:
    if variant not in VARIANTS:
        raise SystemExit(f"BENCH_VARIANT={variant!r}: choose one of {', '.join(VARIANTS)}")
    if variant == "no-rate-limit":
        return create_app({"RATELIMIT_ENABLED": False})
    application = create_app()
    if variant == "no-html-attributes":
        from wizard import html_attributes

        html_attributes.install(html_attributes.wtforms_html_params)
    if variant == "no-i18n-cache":
        from flask_babel import get_translations

        from wizard import i18n, templating

        i18n.page_translations = templating.page_translations = get_translations
    return application


app = build(os.environ.get("BENCH_VARIANT", "product"))
