"""Lockout after repeated failures (django-axes) and per-IP rate limits (django-ratelimit)."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _fail(client, email, ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": email, "password": "wrong-password-x"}, REMOTE_ADDR=ip)


def test_it_locks_a_username_out_after_five_failures_even_with_the_right_password(client, alice, password):
    for i in range(5):
        _fail(client, "alice@example.com", ip=f"10.0.0.{i + 1}")
    response = client.post(
        reverse("login"), {"username": "Alice@Example.com", "password": password}, REMOTE_ADDR="10.0.1.1"
    )
    assert response.status_code == 429
    assert b"Too many failed attempts" in response.content
    assert b"try again in 15 minutes or ask your clinic admin" in response.content
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated
    assert AuditEvent.objects.filter(action="auth.lockout", clinic=alice.clinic).exists()


def test_it_locks_an_ip_out_after_five_failures_across_usernames(client, alice, bob, password):
    for i in range(5):
        _fail(client, f"nobody{i}@example.com", ip="10.9.9.9")
    response = client.post(reverse("login"), {"username": bob.email, "password": password}, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 429
    # Another address is unaffected.
    response = client.post(reverse("login"), {"username": bob.email, "password": password}, REMOTE_ADDR="10.9.9.8")
    assert response.status_code == 302


def test_four_failures_do_not_lock_and_a_success_resets_the_count(client, alice, password):
    for _ in range(4):
        assert _fail(client, alice.email).status_code == 200
    assert client.post(reverse("login"), {"username": alice.email, "password": password}, REMOTE_ADDR="10.0.0.1").status_code == 302


def test_a_forwarded_for_header_from_the_client_cannot_dodge_the_ip_lockout(client, password, bob):
    for i in range(5):
        client.post(
            reverse("login"), {"username": f"x{i}@example.com", "password": "nope-nope-nope"},
            REMOTE_ADDR="10.7.7.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}",
        )
    response = client.post(
        reverse("login"), {"username": bob.email, "password": password},
        REMOTE_ADDR="10.7.7.7", HTTP_X_FORWARDED_FOR="192.0.2.200",
    )
    assert response.status_code == 429


def test_axes_reset_unlocks(client, alice, password):
    for _ in range(5):
        _fail(client, alice.email)
    call_command("axes_reset_username", alice.email, verbosity=0)
    call_command("axes_reset_ip", "10.0.0.1", verbosity=0)
    assert client.post(reverse("login"), {"username": alice.email, "password": password}, REMOTE_ADDR="10.0.0.1").status_code == 302


def test_failed_and_successful_logins_and_logouts_are_audited(client, alice, password):
    _fail(client, alice.email)
    client.post(reverse("login"), {"username": alice.email, "password": password}, REMOTE_ADDR="10.0.0.2")
    client.post(reverse("logout"))
    actions = list(AuditEvent.objects.filter(action__startswith="auth.").order_by("id").values_list("action", flat=True))
    assert actions[:3] == ["auth.login_failed", "auth.login", "auth.logout"]
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.clinic == alice.clinic and failed.ip == "10.0.0.1"
    assert "wrong-password" not in str(failed.detail)


@override_settings(LOGIN_RATE_PER_IP="3/m")
def test_login_posts_are_rate_limited_per_ip(client):
    statuses = [
        client.post(reverse("login"), {"username": f"u{i}@x.org", "password": "p"}, REMOTE_ADDR="10.1.1.1").status_code
        for i in range(4)
    ]
    assert statuses[-1] == 429
    assert client.get(reverse("login"), REMOTE_ADDR="10.1.1.1").status_code == 200


@override_settings(PASSWORD_RESET_RATE_PER_IP="2/h")
def test_password_reset_is_rate_limited_per_ip(client, alice):
    statuses = [
        client.post(reverse("password_reset"), {"email": alice.email}, REMOTE_ADDR="10.2.2.2").status_code
        for _ in range(3)
    ]
    assert statuses == [302, 302, 429]
    assert len(mail.outbox) == 2


def test_password_reset_sends_a_link_that_sets_a_new_password(client, alice):
    client.post(reverse("password_reset"), {"email": "ALICE@example.com"})
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(line for line in body.splitlines() if "/accounts/password-reset/" in line)
    path = link.split("testserver", 1)[1]
    page = client.get(path, follow=True)
    assert page.status_code == 200
    response = client.post(page.redirect_chain[-1][0], {"new_password1": "a-new-long-passw0rd", "new_password2": "a-new-long-passw0rd"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a-new-long-passw0rd")
    assert AuditEvent.objects.filter(action="user.update", object_id=str(alice.pk), detail__fields=["password"]).exists()


def test_password_reset_says_the_same_for_an_unknown_address(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 0
