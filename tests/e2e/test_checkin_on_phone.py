"""A client answers a check-in on a phone, by tapping, from the link in the email."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from alliance.models import CheckIn
from tests.alliance.conftest import log_session, send_inline, token_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MIN_TARGET = 44  # px, WCAG 2.5.5 / Apple HIG minimum touch target


def _link(alice_client, live_server):
    _, invitation = log_session(client=alice_client)
    send_inline(invitation)
    return f"{live_server.url}/s/{token_of(mail.outbox[-1])}/", invitation


def test_a_client_answers_on_a_phone_with_taps(phone, live_server, alice_client):
    url, invitation = _link(alice_client, live_server)
    errors = []
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    external = []
    phone.on("request", lambda r: external.append(r.url) if not r.url.startswith(live_server.url) else None)

    phone.goto(url)
    assert phone.get_by_role("heading", name="Your check-in").is_visible()
    # Every answer is a large target, and the page fits the phone without sideways scrolling.
    boxes = [phone.locator(f"label[for='{d}-{v}']").bounding_box() for d in ("trust", "collaboration") for v in range(11)]
    small = [b for b in boxes if b["width"] < MIN_TARGET or b["height"] < MIN_TARGET]
    assert not small, small
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    for dimension, value in [("trust", 9), ("empathy", 8), ("boundaries", 10), ("collaboration", 6)]:
        phone.locator(f"label[for='{dimension}-{value}']").tap()
        assert phone.locator(f"#{dimension}-{value}").is_checked()
    phone.get_by_label("Anything else you would like to say? (optional)").fill("Good session.")
    submit = phone.get_by_role("button", name="Send my answers")
    assert submit.bounding_box()["height"] >= MIN_TARGET
    submit.tap()

    phone.wait_for_url("**/s/thanks/**")
    assert phone.get_by_role("heading", name="Thank you").is_visible()
    checkin = CheckIn.objects.get(session_id=invitation.session_id, source="client")
    assert (checkin.trust, checkin.empathy, checkin.boundaries, checkin.collaboration) == (9, 8, 10, 6)
    assert checkin.comment == "Good session."
    assert external == [] and errors == []


def test_a_missing_answer_is_explained_and_the_taps_are_kept(phone, live_server, alice_client):
    url, _ = _link(alice_client, live_server)
    phone.goto(url)
    phone.locator("label[for='trust-7']").tap()
    phone.locator("label[for='empathy-7']").tap()
    phone.locator("label[for='boundaries-7']").tap()
    # Skip the browser's own check to see ours, as a browser without it would.
    phone.evaluate("document.querySelector('form.survey-form').noValidate = true")
    phone.get_by_role("button", name="Send my answers").tap()
    expect(phone.get_by_text("Please choose a number from 0 to 10.")).to_be_visible()
    expect(phone.get_by_role("alert")).to_contain_text("Some answers are missing")
    assert phone.locator("#trust-7").is_checked() and phone.locator("#boundaries-7").is_checked()
    assert not CheckIn.objects.exists()


def test_the_answers_can_be_given_with_the_keyboard(page, live_server, alice_client):
    url, invitation = _link(alice_client, live_server)
    page.goto(url)
    page.locator("#trust-0").focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert page.locator("#trust-5").is_checked()
    for dimension in ("empathy", "boundaries", "collaboration"):
        page.locator(f"#{dimension}-0").focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("Space")
    page.get_by_role("button", name="Send my answers").press("Enter")
    page.wait_for_url("**/s/thanks/**")
    assert CheckIn.objects.get(session_id=invitation.session_id).trust == 5
