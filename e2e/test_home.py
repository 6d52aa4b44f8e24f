"""The front page in a real browser, with Chinese glyphs rendered."""

from playwright.sync_api import Page, expect


def test_home_page_in_chromium(page: Page, market_url):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("阿里云云市场开通观测云商业版")
    expect(page.get_by_role("link", name="进入阿里云云市场（模拟器）")).to_have_attribute("href", f"{market_url}/")
    expect(page.get_by_role("link", name="开发邮箱")).to_have_attribute("href", "/dev/mail/")


def test_the_language_switch_works_by_keyboard(page: Page):
    page.goto("/")
    page.get_by_role("button", name="English").focus()
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
