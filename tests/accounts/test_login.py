import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_shows_a_styled_login_page(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Log in" in response.content
    assert b"bootstrap.min.css" in response.content


def test_it_logs_in_with_the_right_password(client, alice, password):
    response = client.post(reverse("login"), {"username": "alice@example.com", "password": password})
    assert response.status_code == 302
    assert client.get(reverse("home")).wsgi_request.user == alice


def test_it_treats_the_email_case_insensitively(client, alice, password):
    response = client.post(reverse("login"), {"username": "Alice@Example.COM", "password": password})
    assert response.status_code == 302


def test_it_refuses_the_wrong_password_with_a_clear_message(client, alice):
    response = client.post(reverse("login"), {"username": "alice@example.com", "password": "nope-nope-nope"})
    assert response.status_code == 200
    assert b"do not match an active account" in response.content
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated


def test_it_refuses_a_deactivated_user(client, alice, password):
    alice.is_active = False
    alice.save()
    response = client.post(reverse("login"), {"username": "alice@example.com", "password": password})
    assert response.status_code == 200
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated


def test_it_redirects_anonymous_visitors_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_logs_out_only_by_post(client, alice):
    client.force_login(alice)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response.url == reverse("login")
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated
