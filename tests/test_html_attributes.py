"""Form fields render exactly as WTForms renders them, with the faster attribute writer installed."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from wtforms.widgets import core

from wizard.html_attributes import html_params, wtforms_html_params

names = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
values = st.one_of(st.booleans(), st.none(), st.integers(), st.text(), st.text().map(Markup))


@settings(deadline=None)  # a shared 2-core CI machine may pause any example
@given(st.dictionaries(names, values, max_size=8))
def test_the_same_attributes_as_wtforms_writes(attributes):
    assert html_params(**attributes) == wtforms_html_params(**attributes)


def test_hostile_values_stay_inside_their_attribute():
    written = html_params(value='"><script>', title=Markup('a "quoted" b'), data_x="&", aria_label="<")
    assert written == (
        'aria-label="&lt;" data-x="&amp;" title="a &quot;quoted&quot; b" value="&#34;&gt;&lt;script&gt;"'
    )


def render_login_form() -> list[str]:
    from wizard.forms import LoginForm

    form = LoginForm()
    return [str(form.site()), str(form.username(class_="input")), str(form.password()), str(form.submit())]


def test_every_widget_uses_it_and_renders_as_wtforms_does(app, monkeypatch):
    with app.test_request_context("/login/pwd"):
        assert core.html_params is html_params and core.Input.html_params is html_params
        fast = render_login_form()
        monkeypatch.setattr(core, "html_params", wtforms_html_params)
        monkeypatch.setattr(core.Input, "html_params", staticmethod(wtforms_html_params))
        assert render_login_form() == fast
    assert '<option selected value="cn1">' in fast[0]


def test_labels_use_it_too_and_render_as_wtforms_does(app, monkeypatch):
    from wtforms import widgets

    from wizard.forms import LoginForm

    with app.test_request_context("/login/pwd"):
        assert widgets.html_params is html_params  # what wtforms.fields.core.Label calls
        fast = str(LoginForm().username.label(class_="label", data_hint='"x"'))
        monkeypatch.setattr(widgets, "html_params", wtforms_html_params)
        assert str(LoginForm().username.label(class_="label", data_hint='"x"')) == fast
    assert fast.startswith('<label class="label" data-hint="&#34;x&#34;" for="username">')


def test_another_wtforms_version_is_refused_loudly():
    from wizard.html_attributes import WRITTEN_FOR, check_wtforms_version

    check_wtforms_version(WRITTEN_FOR)
    with pytest.raises(RuntimeError, match="reproduces WTForms"):
        check_wtforms_version("3.4.0")
