import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_therapist_logs_in_through_the_browser(page, live_server, alice, browser_login):
    browser_login(page, alice)
    assert "Alice Therapist" in page.content()
    assert "/accounts/login/" not in page.url


def test_a_wrong_password_shows_the_message_in_the_browser(page, live_server, alice):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(alice.email)
    page.get_by_label("Password").fill("wrong-password-here")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("do not match an active account").is_visible()
