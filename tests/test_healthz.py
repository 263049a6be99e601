import pytest
from django.db import connection
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_it_answers_200_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "broker": True}
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_when_the_broker_is_down(client):
    from config.celery_app import app

    # A Redis URL on a port nothing listens on: a real refused connection.
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": True, "broker": False}


@pytest.mark.django_db(transaction=True)
def test_it_answers_503_when_the_database_is_down(client):
    # Point the live connection at a database that does not exist, for real.
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent/dir/rapport.sqlite3"
    else:
        connection.settings_dict["PORT"] = 1
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert response.json()["database"] is False


def test_it_refuses_post(client):
    assert client.post("/healthz").status_code == 405


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_it_reveals_nothing_but_the_two_checks(client):
    assert set(client.get("/healthz").json()) == {"status", "database", "broker"}
