"""The front page says what the product is and where to start."""

from .helpers import text_of


def test_home_explains_the_product_and_links_to_simulator_and_mailbox(client):
    page = text_of(client.get("/"))
    assert "阿里云云市场开通观测云商业版" in page
    assert 'href="/market/"' in page
    assert 'href="/dev/mail/"' in page


def test_marketplace_product_page_is_served(client):
    page = text_of(client.get("/market/"))
    assert "观测云" in page and "按量付费" in page
