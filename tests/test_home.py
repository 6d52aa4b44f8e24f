"""The front page of each application says what it is and links to the other."""

from .helpers import text_of


def test_home_explains_the_product_and_links_to_the_marketplace_and_mailbox(client, app):
    page = text_of(client.get("/"))
    assert "阿里云云市场开通观测云商业版" in page
    assert f'href="{app.config["MARKETPLACE_URL"]}"' in page
    assert 'href="/dev/mail/"' in page


def test_the_simulator_serves_the_product_page_at_its_root(market_client):
    page = text_of(market_client.get("/"))
    assert "观测云" in page and "按量付费" in page
