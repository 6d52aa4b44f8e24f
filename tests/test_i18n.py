"""Both interface languages, kept so.

- The English catalog holds every msgid of the code, each translated (no fuzzy, no obsolete, the
  same placeholders), and the compiled catalog is the one in git.
- No template carries user-visible text outside the translation functions.
- Every page of every flow reads in one language: English pages show no Chinese, Chinese pages
  no English UI text (WTForms' own messages included); emails follow the page they were asked on.
- The language comes from the header's switch (a cookie), then Accept-Language, else Chinese.
- Dates and times are formatted for the locale, in the server's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import render_template_string
from sqlalchemy import select

from devtools.customer import Browser, Page
from wizard import clock
from wizard.errors import ERROR_PAGES, render_error
from wizard.i18n import lazy_gettext, lazy_ngettext
from wizard.models import Workspace

from .activation import PASSWORD as OWNER_PASSWORD
from .activation import add_billing_account
from .marketplace import login_free_url

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Application:
    """One application's templates, extraction rules and English catalog."""

    package: str
    babel_cfg: Path
    least_messages: int

    @property
    def templates(self) -> Path:
        return ROOT / self.package / "templates"

    @property
    def catalog_path(self) -> Path:
        return ROOT / self.package / "translations" / "en" / "LC_MESSAGES" / "messages.po"


GUANCE = Application("wizard", ROOT / "babel.cfg", 250)
SIMULATOR = Application("marketplace", ROOT / "marketplace" / "babel.cfg", 80)
APPLICATIONS = [GUANCE, SIMULATOR]

# Han, kana, CJK punctuation and full-width forms: none of it belongs on an English page.
CJK = re.compile(r"[\u2e80-\u2fff\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# A Latin token on a page: a word, or an identifier or path (digits, @, _, ., -, / or ? = & inside it).
LATIN_TOKEN = re.compile(r"[A-Za-z0-9/][A-Za-z0-9_.@+/?=&-]*")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")

# Attributes a person reads or hears, and the two the countdown script shows on the button.
VISIBLE_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "aria-description", "data-countdown", "data-failed")
BUTTON_INPUTS = ("submit", "button", "reset")
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Commands, identifiers and scripts are never translated.
UNTRANSLATED_ELEMENTS = {"code", "script", "style"}

# Literal text a template may carry: the endonyms of the language switch, the product code shown
# on the simulator's product page, the example address in the mailbox filter.
TEMPLATE_ALLOWLIST = {"中文", "English", "cmgj00053362", "name@example.com"}


# ---- Reading what a person sees ----


class VisibleText(HTMLParser):
    """Text nodes and user-visible attributes, outside <code>/<script>/<style>.

    With `language` ("en" or "zh"), an element marked as another language (lang="zh-CN" on an
    English page: the endonym 中文 in the switch, a workspace language) is skipped with its content.
    """

    def __init__(self, language: str | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.language = language
        self.texts: list[str] = []
        self._open: list[tuple[str, bool]] = []  # (tag, skipped)

    def _skipped(self) -> bool:
        return bool(self._open) and self._open[-1][1]

    def _foreign(self, tag: str, attributes: dict) -> bool:
        lang = attributes.get("lang") or ""
        return bool(self.language and lang and tag != "html" and not lang.startswith(self.language))

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        skipped = self._skipped() or tag in UNTRANSLATED_ELEMENTS or self._foreign(tag, attributes)
        if not skipped:
            self.texts.extend(attributes[name] for name in VISIBLE_ATTRIBUTES if attributes.get(name, "").strip())
            if tag == "input" and attributes.get("type") in BUTTON_INPUTS and attributes.get("value", "").strip():
                self.texts.append(attributes["value"])
        if tag not in VOID_ELEMENTS:
            self._open.append((tag, skipped))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self._open.pop()

    def handle_endtag(self, tag):
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] == tag:
                del self._open[index:]
                return

    def handle_data(self, data):
        if data.strip() and not self._skipped():
            self.texts.append(" ".join(data.split()))


def visible_texts(markup: str, language: str | None = None) -> list[str]:
    parser = VisibleText(language)
    parser.feed(markup)
    parser.close()
    return parser.texts


# ---- (a) The English catalog is complete and up to date ----


def extracted_messages(application: Application = GUANCE) -> dict[str, object]:
    """msgid -> message (a str, or a (singular, plural) tuple) as `make translations-update` extracts them."""
    with open(application.babel_cfg, encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    messages = {}
    for _filename, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        messages[message if isinstance(message, str) else message[0]] = message
    return messages


@pytest.fixture(scope="module", params=APPLICATIONS, ids=lambda application: application.package)
def application(request) -> Application:
    return request.param


@pytest.fixture(scope="module")
def code_messages(application) -> dict[str, object]:
    messages = extracted_messages(application)
    assert len(messages) > application.least_messages, f"{application.babel_cfg.name} extracted almost nothing"
    return messages


@pytest.fixture(scope="module")
def catalog(application):
    with open(application.catalog_path, "rb") as po:
        return read_po(po, locale="en")


def entries(catalog) -> dict[str, object]:
    return {message.id if isinstance(message.id, str) else message.id[0]: message for message in catalog if message.id}


def as_key(msgid) -> str | tuple:
    return msgid if isinstance(msgid, str) else tuple(msgid)


def forms_of(message) -> list[str]:
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


def test_the_english_catalog_has_every_message_of_the_code(application, code_messages, catalog):
    missing = sorted(set(code_messages) - set(entries(catalog)))
    where = application.catalog_path.relative_to(ROOT)
    assert not missing, f"not in {where} (run make translations-update, then translate): {missing}"


def test_the_english_catalog_has_no_obsolete_message(code_messages, catalog):
    obsolete = sorted(set(entries(catalog)) - set(code_messages)) + sorted(str(key) for key in catalog.obsolete)
    assert not obsolete, f"in the catalog but no longer in the code (run make translations-update): {obsolete}"


def test_every_english_message_is_translated_and_reviewed(catalog):
    untranslated = [
        msgid for msgid, message in entries(catalog).items() if not all(form.strip() for form in forms_of(message))
    ]
    fuzzy = [msgid for msgid, message in entries(catalog).items() if message.fuzzy]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"marked fuzzy (check the translation, then remove the flag): {fuzzy}"


def test_plural_messages_stay_plural(code_messages, catalog):
    found = entries(catalog)
    differing = [
        msgid
        for msgid, message in code_messages.items()
        if msgid in found and as_key(found[msgid].id) != as_key(message)
    ]
    assert not differing, f"singular/plural form differs from the code (run make translations-update): {differing}"


def test_translations_keep_every_placeholder(catalog):
    broken = []
    for msgid, message in entries(catalog).items():
        wanted = sorted(PLACEHOLDER.findall(msgid))
        broken += [(msgid, form) for form in forms_of(message) if sorted(PLACEHOLDER.findall(form)) != wanted]
    assert not broken, f"placeholders changed: {broken}"


def test_english_text_has_no_chinese_left(catalog):
    leftovers = [form for message in entries(catalog).values() for form in forms_of(message) if CJK.search(form)]
    assert not leftovers, leftovers


# ---- The glossary (README.md, "English terms"): one English term per thing ----


@dataclass(frozen=True)
class Term:
    chinese: str
    english: str  # what an English message says where its Chinese uses the term ("" when it depends)
    ruled_out: tuple[str, ...]  # never in English (all lower case: in any case; else exactly that)


def glossary() -> list[Term]:
    """The README's glossary table; a row "A / B | C / D" pairs A with C and B with D."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- glossary:start -->")[1].split("<!-- glossary:end -->")[0]
    terms = []
    for row in table.strip().splitlines()[2:]:
        chinese, english, ruled_out = (cell.strip() for cell in row.strip("|").split("|"))
        chinese = re.sub(r"\s*\(.*\)", "", chinese)
        ruled = tuple(word.strip() for word in ruled_out.split(",") if word.strip())
        pairs = (
            zip(chinese.split(" / "), english.split(" / "), strict=False) if " / " in chinese else [(chinese, english)]
        )
        for zh, en in pairs:
            plain = "" if re.search(r"[(/;]", en) else en
            terms.append(Term(zh, plain, ruled))
    return terms


def said_otherwise(term: Term, chinese: str, english: str) -> bool:
    """The message is the term (a label), or names it as a label (「已购买的服务」), and its English does not."""
    named = chinese == term.chinese or f"「{term.chinese}」" in chinese
    return named and bool(term.english) and term.english.lower() not in english.lower()


def ruled_out_in(term: Term, english: str) -> list[str]:
    found = []
    for word in term.ruled_out:
        flags = re.IGNORECASE if word == word.lower() else 0
        if re.search(rf"\b{re.escape(word)}\b", english, flags):
            found.append(word)
    return found


def test_the_glossary_is_read_from_the_readme():
    terms = {term.chinese: term for term in glossary()}
    assert terms["知道了"] == Term("知道了", "Got it", ("Got It",))
    assert terms["不可绑定"].english == "Unavailable" and terms["结算"].english == ""
    assert ruled_out_in(terms["结算"], "Settled through the account") == ["settled"]
    assert not ruled_out_in(terms["知道了"], "Got it") and ruled_out_in(terms["知道了"], "Got It")


def test_english_follows_the_glossary(catalog):
    terms = glossary()
    off = []
    for msgid, message in entries(catalog).items():
        chinese = msgid if isinstance(msgid, str) else msgid[0]
        for form in forms_of(message):
            off += [(chinese, form, f"not {word}") for term in terms for word in ruled_out_in(term, form)]
            off += [(chinese, form, term.english) for term in terms if said_otherwise(term, chinese, form)]
    assert not off, "English that leaves the README's glossary (message, English, term):\n" + "\n".join(map(str, off))


# ---- Sentence case (README, "English terms"): capitals start a sentence or a label, or spell a name ----

# Names keep their capitals anywhere: products, companies, places, languages, apps, the pronoun I.
NAMES = frozenset({
    "Guance", "Alibaba", "Cloud", "Marketplace", "Billing", "Center", "Commercial", "Edition", "DataKit", "Linux",
    "Region", "China", "Overseas", "Europe", "Asia-Pacific", "Hangzhou", "Ningxia", "Guangzhou", "Hong", "Kong",
    "Oregon", "Frankfurt", "Singapore", "Chinese", "English", "Google", "Microsoft", "Authenticator", "I",
})  # fmt: skip
PROPER_NAMES = ("Shanghai Guance Information Technology Co., Ltd.", "R&D")
# What may stand right before a capital: the start, the end of a sentence, a colon (a label's value),
# a separator (·, >, —), an opening quote or bracket (a quoted button: Click "Open Guance").
_STARTS = re.compile(r"(^|[.!?:;·>—]\s*|[\"“‘(「]\s*)$")
_NOT_WORDS = re.compile(r"%\(\w+\)[sd]|%[sd]|\{[^}]*\}|<[^>]+>|https?://\S+")


def title_cased_words(english: str) -> list[str]:
    """The words capitalised inside a sentence that are no name: "Sign Out" -> ["Out"]."""
    text = _NOT_WORDS.sub(" ", english)
    for name in PROPER_NAMES:
        text = text.replace(name, " ")
    found = []
    for match in re.finditer(r"[A-Za-z][A-Za-z0-9'’-]*", text):
        word = re.sub(r"['’]s$", "", match.group())
        named = word in NAMES or any(c.isupper() or c.isdigit() for c in word[1:])  # SPI, DataKit, R1, B2a
        if word[0].isupper() and not named and not _STARTS.search(text[: match.start()]):
            found.append(word)
    return found


def test_the_sentence_case_check_sees_title_case():
    assert title_cased_words("Sign Out") == ["Out"] and title_cased_words("SPI Audit Log") == ["Audit", "Log"]
    assert title_cased_words("Register: Basic Information (R1)") == ["Information"]
    assert title_cased_words('No deliveries yet. Click "Send Test Event" to try one.') == ["Test", "Event"]
    sentence_cased = ('Click "Open Guance" in "Purchased services"', "Alibaba Cloud account ID: %(uid)s · Instance ID",
            "Guance's Billing Center account", "Sign in to the operations console", "Bind workspace (B2a)")  # fmt: skip
    for fine in sentence_cased:
        assert title_cased_words(fine) == [], fine


def test_english_is_in_sentence_case(catalog):
    off = [
        (form, words)
        for message in entries(catalog).values()
        for form in forms_of(message)
        if (words := title_cased_words(form))
    ]
    assert not off, "Title Case in English (the README asks for sentence case):\n" + "\n".join(map(str, off))


OPS_PAGES = ("/ops/", "/ops/instances/{instance}", "/ops/spi", "/ops/stuck", "/ops/funnel", "/ops/metering",
             "/ops/tasks", "/ops/webhooks", "/ops/webhooks/{webhook}", "/ops/audit")  # fmt: skip
LABELS = "title, h1, h2, h3, nav a, th, caption, legend, label, button, summary, .field-label"


def test_the_operators_console_reads_in_sentence_case(app, client, db, smtp):
    """Every page of /ops/ in English: its title, headings, navigation, column heads, labels and buttons
    (whatever their text comes from: the catalog, the step names, the page map)."""
    from bs4 import BeautifulSoup

    from wizard.models import FailedTask
    from wizard.services.ops import webhooks

    from .activation import activate_by_binding
    from .conftest import customer_of
    from .ops_support import add_operator, enter_password, sign_in

    add_billing_account()
    instance = activate_by_binding(customer_of(app, smtp, client))
    webhook = webhooks.create_endpoint("http://127.0.0.1:9/hook", ["instance.activated"], "", None).endpoint.id
    db.session.add(FailedTask(task_id="t1", name="deliver_notice", args=[1], error="SMTPException", status="failed"))
    db.session.commit()
    add_operator(app)
    add_operator(app, "bob", enrolled=False)
    pages = [("/ops/login", app.test_client())]
    enrolling = app.test_client()
    enrolling.set_cookie("lang", "en")
    pages.append((enter_password(enrolling, "bob").headers["Location"], enrolling))
    operator = app.test_client()
    sign_in(operator)
    pages += [(path.format(instance=instance, webhook=webhook), operator) for path in OPS_PAGES]
    off = []
    for path, browser in pages:
        browser.set_cookie("lang", "en")
        response = browser.get(path)
        assert response.status_code == 200, path
        for element in BeautifulSoup(response.data, "html.parser").select(LABELS):
            text = " ".join(element.get_text(" ").split())
            off += [(path, text, words) for words in [title_cased_words(text)] if words]
    assert not off, "Title Case on the operators' console:\n" + "\n".join(map(str, off))


def test_the_compiled_catalog_is_the_one_in_git(application, catalog):
    """The application reads the .mo that `make translations` compiles from the .po in git."""
    compiled = application.catalog_path.with_suffix(".mo")
    assert compiled.is_file(), f"{application.package}/translations is not compiled: run make translations"
    with open(compiled, "rb") as mo:
        served = {m.id if isinstance(m.id, str) else m.id[0]: forms_of(m) for m in read_mo(mo) if m.id}
    stale = [msgid for msgid, message in entries(catalog).items() if served.get(msgid) != forms_of(message)]
    assert not stale, f"the .mo is older than the .po (run make translations): {stale[:5]}"


# ---- (b) Templates carry no user-visible text outside the translation functions ----

JINJA = re.compile(
    r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}"  # a {% trans %} block is translated as a whole
    r"|\{%-?\s*block\s+\w+_class\s*-?%\}.*?\{%-?\s*endblock\b.*?%\}"  # {% block body_class %}: CSS classes
    r"|\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}",
    re.S,
)


def template_paths() -> list[Path]:
    found = (path for application in APPLICATIONS for path in application.templates.rglob("*"))
    return sorted(path for path in found if path.suffix in {".html", ".txt"})


@pytest.mark.parametrize("path", template_paths(), ids=lambda path: str(path.relative_to(ROOT)))
def test_templates_have_no_text_outside_the_translation_functions(path):
    literal = JINJA.sub(" ", path.read_text(encoding="utf-8"))
    offending = [
        text
        for text in visible_texts(literal)
        if text not in TEMPLATE_ALLOWLIST and (CJK.search(text) or LATIN_WORD.search(text))
    ]
    assert not offending, f"wrap in {{{{ _('…') }}}}: {offending}"


def test_the_template_check_sees_what_it_should():
    markup = JINJA.sub(
        " ",
        "<p>{{ _('好') }}</p><p>待翻译</p><input type=submit value=Send>"
        "<a title='看'>{# 注释 #}</a><code>datakit monitor</code>",
    )
    assert visible_texts(markup) == ["待翻译", "Send", "看"]


# ---- (c) Every page of every flow, in each language ----

UID_REGISTER, UID_BIND, UID_CREATE, UID_DIRECT = (
    "1380000000000101",
    "1380000000000102",
    "1380000000000103",
    "1380000000000104",
)
PASSWORD = "Blue-Harbor-Lantern-7"
REGISTRANT = {
    "site": "cn1",
    "username": "walker",
    "password": PASSWORD,
    "confirm": PASSWORD,
    "email": "walker@newcorp.example",
    "phone": "13800138000",
}
DIRECT = {**REGISTRANT, "username": "direct", "email": "direct@newcorp.example"}
COMPANY = {"company_name": "Newcorp Ltd", "agreement": "y"}
WORKSPACE = {
    "method": "aliyun",
    "workspace_name": "Production",
    "workspace_language": "en",
    "workspace_style": "ops",
    "create_billing_account": "y",
    "agreement": "y",
}
NEW_ACCOUNT = {
    "name": "Sandbox",
    "language": "en",
    "username": "builder",
    "password": PASSWORD,
    "confirm": PASSWORD,
    "email": "builder@newcorp.example",
    "phone": "",
    "agreement": "y",
}
PAGE_LANG = {"en": "en", "zh": "zh-CN"}


class Walk:
    """A customer's way through the product (the driver's browsers, devtools/customer.py); every page
    it sees is kept, checked afterwards."""

    def __init__(self, client, app, market_client=None) -> None:
        self.client, self.app = client, app
        self.browser = Browser.of(client)
        self.market = Browser.of(market_client) if market_client is not None else None
        self.pages: list[tuple[str, str]] = []

    def keep(self, label: str, response, status: int = 200) -> Page:
        page = Page.of(response)
        assert page.status == status, f"{label}: HTTP {page.status}\n{page.text[:2000]}"
        self.pages.append((label, page.text))
        return page

    def get(self, label: str, url: str, status: int = 200, browser: Browser | None = None) -> Page:
        return self.keep(label, (browser or self.browser).get(url, follow=True), status)

    def post(self, label: str, page_url: str, data: dict | None = None, action: str | None = None, status: int = 200,
             browser: Browser | None = None) -> Page:  # fmt: skip
        """Submit `data` (a None value: the field is left out, as an unticked checkbox is)."""
        fields = {name: value for name, value in (data or {}).items() if value is not None}
        return self.keep(label, (browser or self.browser).submit(page_url, fields, action, follow=True), status)

    def send_code(self, page_url: str, typed: dict) -> Page:
        """获取验证码 without JavaScript: the page's own form with what was `typed`, re-rendered."""
        return self.browser.submit(page_url, {**typed, "send_code": "1"})

    def json_message(self, label: str, page_url: str, purpose: str, identifier: str) -> None:
        """获取验证码 as app.js asks for it: the message of the JSON answer."""
        answer = self.browser.send(
            self.browser.get(page_url), "/codes/send", {"purpose": purpose, "identifier": identifier}
        )
        self.pages.append((label, answer.json["message"]))

    # -- the marketplace --

    def buy(self, ali_uid: str, label: str | None = None) -> str:
        self.market.get(f"/?aliUid={ali_uid}")
        submitted = self.market.submit("/activate", {"agreement": "y"}).expect(302)
        if label:
            self.get(label, submitted.location, browser=self.market)
        return submitted.location.split("/")[-2]

    def login_free(self, label: str, order_id: str, status: int = 200) -> Page:
        """免登: the simulator sends the browser to the Guance side's absolute authUrl."""
        jump = self.market.get(f"/instances/{order_id}/login-free").expect(302)
        assert jump.location.startswith("http://localhost/spi?"), jump.location
        page = self.get(label, jump.location, status)
        if page.find("form[action='/login-free/switch']"):  # another Aliyun account was mid-flow: 继续
            switched = self.browser.submit(page, {"proceed": "1"}, action="/login-free/switch", follow=True)
            page = self.keep(f"{label}, 继续", switched, 200)
        return page

    def lifecycle(self, label: str, order_id: str, operation: str) -> Page:
        return self.post(label, "/instances", action=f"/instances/{order_id}/{operation}", browser=self.market)

    # -- verification codes --

    def code_for(self, smtp, email: str) -> str:
        return smtp.last_code(email)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def walk_everything(client, market_client, app, db, smtp, language: str) -> Walk:
    """Every page of both applications, with English-only test data; returns what was seen."""
    walk = Walk(client, app, market_client)
    if language == "en":  # each site's header switch, once, on its first page; nothing else sets it
        for browser, cookie in ((walk.browser, "lang"), (walk.market, "aliyun_market_lang")):
            browser.submit("/", {"lang": "en", "next": "/"}, action="/language").expect(302)
            assert browser.cookies()[cookie] == "en"
    walk.get("home", "/")

    # M1-M4, the simulator
    walk.get("M1 nobody signed in", "/", browser=walk.market)
    walk.get("M sign-in picker", "/signin", browser=walk.market)
    walk.post("M sign-in refused", "/signin", {"ali_uid": "abc"}, status=400, browser=walk.market)
    walk.get("M1 product", f"/?aliUid={UID_REGISTER}", browser=walk.market)
    walk.get("M2 activate dialog", "/activate", browser=walk.market)
    walk.post("M2 without the agreement", "/activate", {}, status=400, browser=walk.market)
    order = walk.buy(UID_REGISTER, "M3 request submitted")
    walk.get("M4 purchased services", "/instances", browser=walk.market)
    walk.get("M4 close dialog", f"/instances?release={order}", browser=walk.market)
    walk.lifecycle("M4 renewed (flash)", order, "renew")
    walk.lifecycle("M4 upgraded (flash)", order, "upgrade")

    # G1, R1-R3, S1
    walk.login_free("G1 choose a path", order)
    walk.post("G1 nothing chosen", "/activate/", {})
    walk.post("R1 basic information", "/activate/", {"path": "register"})
    walk.post("R1 all empty", "/register/basic", {})
    walk.keep("R1 code sent", walk.send_code("/register/basic", {"email": REGISTRANT["email"]}))
    walk.keep("R1 code again too soon", walk.send_code("/register/basic", {"email": REGISTRANT["email"]}))
    walk.json_message("R1 code sent without reload (JSON)", "/register/basic", "register", REGISTRANT["email"])
    code = walk.code_for(smtp, REGISTRANT["email"])
    walk.post("R1 wrong code", "/register/basic", {**REGISTRANT, "code": wrong(code)})
    walk.post("R2 company information", "/register/basic", {**REGISTRANT, "code": code})
    walk.post("R2 all empty", "/register/company", {})
    walk.post("R3 choose activation method", "/register/company", COMPANY)
    walk.post("R3 bad choices", "/register/activation", {**WORKSPACE, "workspace_language": "fr", "agreement": None})
    walk.post("S1 activated successfully", "/register/activation", WORKSPACE)
    walk.get("B3 after registration", "/bind/workspaces")

    # L1, the console
    walk.get("L1 needs a login (flash)", "/console/")
    walk.post("L1 wrong password", "/login/pwd", {"site": "cn1", "username": "walker", "password": "Wrong1234"})
    walk.post("console", "/login/pwd", {"site": "cn1", "username": "walker", "password": PASSWORD})
    walk.get("console datakit", "/console/datakit")
    walk.post("L1 logged out (flash)", "/console/", {}, action="/logout")

    # B0-B3 with an existing billing-center account, then a second instance and an expired one
    acme = add_billing_account("acme_billing", "billing@acme.example", workspaces=("Production", "Staging")).id
    order = walk.buy(UID_BIND)
    walk.login_free("G1 bind path", order)
    walk.post("B0 with the guide", "/activate/", {"path": "bind"})
    walk.post("B1 guide dismissed", "/bind/billing", {"next": "/bind/billing"}, action="/bind/guide")
    walk.post("B1 all empty", "/bind/billing", {})
    walk.post("B1 site switched", "/bind/billing", {"site": "cn2", "next": "/bind/billing"}, action="/bind/site")
    walk.keep("B1 code sent", walk.send_code("/bind/billing", {"username": "acme_billing"}))
    walk.post(
        "B2 workspaces", "/bind/billing", {"username": "acme_billing", "code": smtp.last_code("billing@acme.example")}
    )
    # acme_billing's Production (R3 above created another workspace of that name, for walker)
    production = db.session.scalar(select(Workspace.id).filter_by(name="Production", billing_account_id=acme))
    walk.post("B3 bound", "/bind/workspaces", action=f"/bind/workspaces/{production}")
    walk.get("S1 bind path", "/activate/success")
    second = walk.buy(UID_BIND)
    walk.login_free("B2 one workspace taken", second)
    third = walk.buy(UID_BIND)
    walk.lifecycle("M4 expired (flash)", third, "expire")
    walk.login_free("login-free refused: expired", third, status=403)
    walk.get("M4 close dialog of an expired instance", f"/instances?release={third}", browser=walk.market)
    walk_lifecycle(walk, order)

    # B2a-c: a billing-center account without workspaces
    add_billing_account("empty_billing", "empty@acme.example", workspaces=(), owner_username="empty_owner")
    order = walk.buy(UID_CREATE)
    walk.login_free("G1 create path", order)
    walk.post("B1", "/activate/", {"path": "bind"})
    walk.send_code("/bind/billing", {"username": "empty_billing"})
    walk.post(
        "B2 nothing to bind",
        "/bind/billing",
        {"username": "empty_billing", "code": smtp.last_code("empty@acme.example")},
    )
    walk.get("B2b existing account", "/workspace/new?tab=existing")
    walk.post("B2b all empty", "/workspace/new?tab=existing", {})
    walk.get("B2c no account", "/workspace/new?tab=register")
    walk.post("B2c bad choices", "/workspace/new?tab=register", {**NEW_ACCOUNT, "language": "fr", "email": "x"})
    walk.keep("B2c code sent", walk.send_code("/workspace/new?tab=register", {"email": NEW_ACCOUNT["email"]}))
    walk.post(
        "B3 created", "/workspace/new?tab=register", {**NEW_ACCOUNT, "code": smtp.last_code(NEW_ACCOUNT["email"])}
    )
    walk.get("S1 created", "/activate/success")

    # R3 without a billing-center account: settled by Guance directly
    order = walk.buy(UID_DIRECT)
    walk.login_free("G1 direct", order)
    walk.browser.submit("/activate/", {"path": "register"}).expect(302, at="/register/basic")
    walk.send_code("/register/basic", {"email": DIRECT["email"]})
    walk.browser.submit("/register/basic", {**DIRECT, "code": smtp.last_code(DIRECT["email"])}).expect(302)
    walk.post("R3 after R2", "/register/company", COMPANY)
    walk.post(
        "R3 finished without billing",
        "/register/activation",
        {**WORKSPACE, "workspace_name": "Direct", "create_billing_account": None},
    )

    # Refusals and error pages
    walk.get(
        "login-free refused: bad token",
        "/spi?action=verify&instanceId=1&timeStamp=2026-01-01%2000:00:00&token=0",
        status=400,
    )
    stranger = app.test_client()
    if language == "en":
        stranger.set_cookie("lang", "en")
    stranger = Browser.of(stranger)
    walk.keep("wizard page without a marketplace login", stranger.get("/activate/"), status=401)
    walk.get("404", "/nowhere", status=404)
    walk.get("simulator 404", "/nowhere", status=404, browser=walk.market)
    walk.get("405", "/language", status=405)
    walk.keep("400 CSRF", stranger.post("/language", {"lang": "en"}), status=400)
    headers = {"Cookie": "lang=en"} if language == "en" else {}
    for status in ERROR_PAGES:
        with app.test_request_context("/", headers=headers):
            page, code = render_error(status)
        walk.pages.append((f"error page {code}", page))

    # The development mailbox: every message of the walk, then an empty filter
    walk.get("dev mailbox", "/dev/mail/")
    walk.get("dev mailbox, nothing found", "/dev/mail/?to=nobody@nowhere.example")
    return walk


def walk_lifecycle(walk: Walk, order: str) -> None:
    """X1-X3 and the release, for the bound instance of `order` (生产环境 = Production of acme_billing)."""
    instance_id = "5" + order[1:]  # the simulator's orderBizId: 5<aliUid><n> where orderId is 2<aliUid><n>
    walk.lifecycle("M4 expired: countdown (flash)", order, "expire")
    # A link of its own, stamped ahead: every earlier link of this instance is stamped now or before, and
    # two links with the same stamp are one token, so the second would be refused as a replay.
    ahead = clock.now() + timedelta(seconds=37)
    lock = walk.get("X1 lock page", login_free_url(walk.app, instance_id, ahead))
    link = lock.link("a[href^='/unlock/']")
    walk.get("X3 unlock choices", link)
    walk.get("X3 link used twice", link, status=400)
    walk.post("X3 no code sent", "/unlock/", {"code": "123456"})
    stranger = walk.app.test_client()
    stranger.set_cookie("lang", walk.browser.cookies().get("lang", "zh"))
    walk.get("X3 without a link", "/unlock/", status=403, browser=Browser.of(stranger))
    walk.get("M4 renew this instance", f"/instances?instanceId={instance_id}", browser=walk.market)
    owner = {"site": "cn1", "username": "acme_owner", "password": OWNER_PASSWORD}
    locked = walk.post("X1 console lock page", "/login/pwd", owner)
    walk.get("console banner", "/console/")
    production = locked.url.removesuffix("/lock") + "/dissolve"  # /console/workspaces/<id>/lock
    walk.get("X2 dissolve", production)
    walk.post("X2 dissolve, wrong name", production, {"name": "Prod"})
    walk.lifecycle("M4 renewed: unlocked (flash)", order, "renew")
    walk.lifecycle("M4 closed (flash)", order, "release")
    later = ahead + timedelta(seconds=1)
    walk.get("login-free on a closed instance", login_free_url(walk.app, instance_id, later), status=400)


# Values the walk itself typed; they may show on any page (pure identifiers are skipped anyway).
WALK_DATA = {"Production", "Staging", "Sandbox", "Direct", "Newcorp", "Ltd", "walker", "direct", "builder"}


def source_words() -> set[str]:
    """Latin words the Chinese interface itself contains (ID, DataKit, SaaS, SPI, token ...)."""
    msgids = [msgid for application in APPLICATIONS for msgid in extracted_messages(application)]
    return {word for msgid in msgids for word in LATIN_WORD.findall(PLACEHOLDER.sub(" ", msgid))}


def chinese_on_an_english_page(text: str) -> bool:
    return bool(CJK.search(text))


URL = re.compile(r"https?://\S+")


def english_on_a_chinese_page(text: str, allowed: set[str]) -> list[str]:
    text = re.sub(r"\{\w+\}", " ", text)  # {seconds}: filled in by the countdown script
    text = URL.sub(" ", text)  # an address (the lifecycle emails' links) is an identifier, not English
    words = [token for token in LATIN_TOKEN.findall(text) if token.isalpha() and len(token) > 1]
    return [word for word in words if word not in allowed]


@pytest.fixture(scope="module")
def chinese_words() -> set[str]:
    return source_words() | WALK_DATA


def html_lang(page: str) -> str | None:
    return Page(200, {}, page).lang


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_page_reads_in_one_language(client, market_client, app, db, smtp, language, chinese_words):
    walk = walk_everything(client, market_client, app, db, smtp, language)
    assert len(walk.pages) > 60
    wrong_lang, offending = [], []
    for label, page in walk.pages:
        if page.lstrip().startswith("<!doctype html>") and html_lang(page) != PAGE_LANG[language]:
            wrong_lang.append((label, html_lang(page)))
        for text in visible_texts(page, language):
            if language == "en" and chinese_on_an_english_page(text):
                offending.append((label, text))
            if language == "zh" and english_on_a_chinese_page(text, chinese_words):
                offending.append((label, text))
    assert not wrong_lang, f"pages not in {language}: {wrong_lang}"
    assert not offending, "\n".join(f"{label}: {text}" for label, text in offending)
    seen = dict(walk.pages)
    # WTForms' own messages come from Flask-WTF's catalog in the page's language.
    not_a_choice = {"en": "Not a valid choice", "zh": "不是有效的选择"}[language]
    assert not_a_choice in seen["R3 bad choices"] and not_a_choice in seen["B2c bad choices"]
    # The emails of the walk, asked for on pages of that language, are written in it too.
    messages = smtp.messages()
    # Five codes, then to acme_owner and acme_billing each: countdown started, unlocked, released.
    assert len(messages) == 11
    for message in messages:
        for text in (message.subject, message.text, *visible_texts(message.html, language)):
            if language == "en":
                assert not chinese_on_an_english_page(text), (message.subject, text)
            else:
                assert not english_on_a_chinese_page(text, chinese_words), (message.subject, text)


# ---- (d) The switch persists across the flow and into the emails ----


def test_the_switch_on_a_page_keeps_the_language_for_the_whole_flow_and_its_emails(customer, browser, smtp):
    assert customer.arrive(UID_REGISTER).lang == "zh-CN"
    switched = browser.submit("/activate/", {"lang": "en", "next": "/activate/"}, action="/language", follow=True)
    assert switched.lang == "en" and "Activate Guance Commercial Edition" in switched.title

    page = browser.submit("/activate/", {"path": "register"}, follow=True)
    assert page.lang == "en" and page.current_step == "Basic information"
    # The countdown's text is rendered for the script, in the page's language.
    button = page.find("[data-code-send]")
    assert button["data-countdown"] == "Resend ({seconds}s)"
    assert button["data-failed"] == "The verification code could not be sent. Please try again later"

    customer.at(page)
    customer.send_code(REGISTRANT["email"], javascript=False)
    assert customer.page.code_status.text == "Verification code sent. Please check your email"
    email = smtp.messages(REGISTRANT["email"])[0]
    assert email.subject == "Guance verification code: Register a Guance account"
    assert "Your Guance verification code is:" in email.text and "Valid for 10 minutes" in email.text
    assert html_lang(email.html) == "en" and "Your Guance verification code is:" in email.html
    assert not CJK.search(email.subject + email.text + email.html)

    code = smtp.last_code(REGISTRANT["email"])
    for url, data in (
        ("/register/basic", {**REGISTRANT, "code": code}),
        ("/register/company", COMPANY),
        ("/register/activation", WORKSPACE),
    ):
        page = browser.submit(url, data, follow=True)
        assert page.lang == "en", url
    assert page.title == "Activated successfully" and "China Region 1 (Hangzhou)" in page.text

    back = browser.submit(page, {"lang": "zh", "next": "/activate/success"}, action="/language", follow=True)
    assert back.lang == "zh-CN" and back.title == "开通成功"


def test_a_code_asked_for_without_reload_follows_the_page_language(customer, browser, smtp):
    customer.arrive(UID_REGISTER)
    browser.client.set_cookie("lang", "en")
    customer.choose("register")
    page = browser.get("/register/basic")
    ask = {"purpose": "register", "identifier": REGISTRANT["email"]}
    assert browser.send(page, "/codes/send", ask).json["message"] == "Verification code sent. Please check your email"
    assert smtp.messages(REGISTRANT["email"])[0].subject.startswith("Guance verification code")
    again = browser.send(page, "/codes/send", ask).json["message"]
    assert re.fullmatch(r"Please wait \d+ seconds before getting a new code", again)  # (a JSON message, not HTML)


def test_counts_are_plural_aware_in_english(app):
    from wizard.services.codes import CooldownActive, HourlyLimitReached, WrongCode

    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert str(WrongCode(1).message) == "Incorrect verification code. 1 try left"
        assert str(WrongCode(4).message) == "Incorrect verification code. 4 tries left"
        assert str(CooldownActive(1).message) == "Please wait 1 second before getting a new code"
        assert str(HourlyLimitReached(120).message) == "Too many code requests. Please try again in 2 minutes"
    with app.test_request_context("/"):
        assert str(WrongCode(1).message) == "验证码错误，还可以尝试 1 次"


def test_the_page_catalog_follows_flask_babel_through_every_locale_switch(app):
    """wizard/i18n.py keeps one catalog per request and notices a switch through Flask-Babel's private
    state: in a page, in force_locale (as emails are written) and back, it answers as Flask-Babel does."""
    import flask_babel

    from wizard.i18n import gettext, page_translations

    def both(message: str) -> tuple[str, str]:
        return gettext(message), flask_babel.gettext(message)

    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert both("登录") == ("Log in", "Log in")
        with flask_babel.force_locale("zh"):
            assert both("登录") == ("登录", "登录")
            with flask_babel.force_locale("en"):
                assert both("登录") == ("Log in", "Log in")
            assert both("登录") == ("登录", "登录")
        assert both("登录") == ("Log in", "Log in")
        assert page_translations() is page_translations()  # one lookup per request and locale
    with app.test_request_context("/"):
        assert both("登录") == ("登录", "登录")


def test_another_flask_babel_version_is_refused_loudly():
    from wizard.i18n import WRITTEN_FOR, check_flask_babel_version

    check_flask_babel_version(WRITTEN_FOR)
    with pytest.raises(RuntimeError, match="private per-request state"):
        check_flask_babel_version("4.1.0")


# ---- (e) How the language is chosen ----

HOME_TITLE = {
    "en": "Activate Guance Commercial Edition via Alibaba Cloud Marketplace",
    "zh": "阿里云云市场开通观测云商业版",
}


@pytest.mark.parametrize(
    ("cookie", "accept_language", "expected"),
    [
        (None, None, "zh"),  # nothing said: Chinese
        (None, "en-US,en;q=0.9", "en"),  # the browser's language
        (None, "en-GB", "en"),
        (None, "zh-TW,zh;q=0.9,en;q=0.8", "zh"),
        (None, "fr-FR,fr;q=0.9", "zh"),  # unsupported: Chinese
        (None, "fr-FR,fr;q=0.9,en;q=0.5", "en"),  # the best supported one
        ("zh", "en-US,en;q=0.9", "zh"),  # the switch wins over the browser
        ("en", "zh-CN,zh;q=0.9", "en"),
        ("fr", None, "zh"),  # a cookie the switch never sets is ignored
        ("fr", "en", "en"),
    ],
)
def test_the_language_is_the_switch_then_the_browser_then_chinese(client, cookie, accept_language, expected):
    if cookie:
        client.set_cookie("lang", cookie)
    page = Browser.of(client).get("/", headers={"Accept-Language": accept_language} if accept_language else {})
    assert page.lang == PAGE_LANG[expected]
    assert HOME_TITLE[expected] in page.text


# ---- Dates and times for the locale, in the server's time zone ----


def test_dates_follow_the_locale_in_the_configured_time_zone(client, market_client, app, db, monkeypatch):
    from marketplace import clock as market_clock

    # 16:30 UTC is already the next day in Shanghai (BABEL_DEFAULT_TIMEZONE): the date shows that.
    moment = datetime(2026, 1, 1, 16, 30, tzinfo=UTC)
    monkeypatch.setattr(market_clock, "now", lambda: moment)
    monkeypatch.setattr(clock, "now", lambda: moment)
    Walk(client, app, market_client).buy(UID_REGISTER)
    buyer = Browser.of(market_client)
    # Pay-as-you-go has no expiry; a renewal opens a term that ends a year later, on a date.
    buyer.submit("/instances", action=f"/instances/2{UID_REGISTER}000001/renew")
    chinese = buyer.get("/instances").text_of("main")
    english = buyer.get("/instances", headers={"Accept-Language": "en"}).text_of("main")
    assert "2027年1月2日" in chinese and "按量付费，无到期时间" not in chinese
    assert "Jan 2, 2027" in english and "2027年" not in english


def test_mailbox_times_follow_the_locale(customer, browser):
    customer.arrive(UID_REGISTER)
    customer.choose("register")
    customer.send_code(REGISTRANT["email"], javascript=False)
    chinese = browser.get("/dev/mail/").texts_of("time")
    english = browser.get("/dev/mail/", headers={"Accept-Language": "en"}).texts_of("time")
    assert chinese and all(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}:\d{2}", when) for when in chinese)
    assert english and all(
        re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2}\s[AP]M", when) for when in english
    ), english


# ---- Values put into messages are escaped ----

PAYLOAD = "<img src=x onerror=alert(1)>"


def formatted_messages() -> list:
    """Every catalog message that formats a value: (msgid, its placeholders)."""
    with open(GUANCE.catalog_path, "rb") as handle:
        catalog = read_po(handle)
    found = []
    for message in catalog:
        text = message.id if isinstance(message.id, str) else message.id[0]
        names = sorted(set(re.findall(r"%\((\w+)\)s", text)) - ({"num"} if not isinstance(message.id, str) else set()))
        if message.id and names:  # (a plural's %(num)s is its count, not a value from outside)
            found.append((message.id, names))
    return found


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_message_escapes_the_values_formatted_into_it(app, language):
    messages = formatted_messages()
    assert len(messages) > 20
    with app.test_request_context(headers={"Accept-Language": language}):
        for msgid, names in messages:
            values = dict.fromkeys(names, PAYLOAD)
            if isinstance(msgid, str):
                message = lazy_gettext(msgid, **values)
            else:
                message = lazy_ngettext(msgid[0], msgid[1], 2, **values)
            html = render_template_string("<p>{{ message }}</p>", message=message)
            assert PAYLOAD not in html and "&lt;img src=x onerror=alert(1)&gt;" in html, msgid
