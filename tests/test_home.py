"""The front page of each application says what it is and links to the other."""

from devtools.customer import Browser


def test_home_explains_the_product_and_links_to_the_marketplace_and_mailbox(browser, app):
    page = browser.get("/")
    assert "阿里云云市场开通观测云商业版" in page.text
    assert {app.config["MARKETPLACE_URL"], "/dev/mail/"} <= set(page.links())


def test_the_simulator_serves_the_product_page_at_its_root(market_client):
    page = Browser.of(market_client).get("/")
    assert "观测云" in page.text and "按量付费" in page.text
