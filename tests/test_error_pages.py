"""Error pages look like the rest of Rapport and say what to do next. The 500 and CSRF
pages are rendered without a request context, so they must not need the database."""

import pytest
from django.test import Client, RequestFactory
from django.urls import path
from django.views import defaults

from tests.services import local_server  # noqa: F401 - fixture

STYLESHEET = "css/rapport"


def boom(request):
    raise RuntimeError("a bug")


def _urlpatterns():
    from config.urls import urlpatterns as project

    return [path("boom/", boom), *project]


# The project's pages plus one that crashes, for the 500 tests (pytest.mark.urls), with
# the project's 500 handler.
urlpatterns = _urlpatterns()
handler500 = "config.errors.server_error"


@pytest.mark.django_db
def test_a_missing_page_is_explained_in_rapports_layout_with_the_users_menu(client, login, alice):
    login(client, alice)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "We can't find that page" in page and "ask your therapist for a new one" in page
    assert STYLESHEET in page and "Alice Therapist" in page and "Log out" in page


@pytest.mark.django_db
def test_a_refused_page_says_who_can_see_what(client, login, alice):
    login(client, alice)
    response = client.get("/clinic/audit/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "You don't have access to this page" in page and "ask your clinic admin" in page
    assert STYLESHEET in page


@pytest.mark.django_db
@pytest.mark.urls("tests.test_error_pages")
def test_a_crash_shows_the_apology_page_not_the_error():
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page and STYLESHEET in page
    assert "RuntimeError" not in page and "a bug" not in page


def test_the_500_page_renders_without_the_database():
    # No django_db mark: any query here would fail the test.
    response = defaults.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


@pytest.mark.django_db
def test_a_bad_host_gets_the_400_page():
    response = Client().get("/accounts/login/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "This request couldn't be understood" in response.content.decode()


@pytest.mark.django_db
def test_a_form_posted_without_its_csrf_token_is_explained_and_saves_nothing(alice):
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": alice.email, "password": "x"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "This form has expired" in page and "Go back, reload the page" in page and STYLESHEET in page


@pytest.mark.django_db
def test_a_clinic_admin_refused_a_note_is_not_told_to_ask_the_clinic_admin(client, login, carol, alice_client):
    from tests.factories import SessionFactory

    session = SessionFactory(client=alice_client)
    login(client, carol)
    response = client.get(f"/sessions/{session.pk}/edit/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "ask your clinic admin" not in page and "protects clients' privacy" in page


# --- Under `make run` (config.settings.local) ------------------------------------------------
# The embedded default is where people first meet Rapport: a mistyped address there shows
# Rapport's page, not Django's debug page. Checked on a real `manage.py runserver` started
# with the local settings, against this run's test database.


def _fetch(url, **headers):
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.django_db(transaction=True)
def test_make_run_shows_rapports_error_pages_not_djangos_debug_page(local_server, alice, alice_client, mallory):
    local_server = local_server.url
    from django.conf import settings as django_settings

    from tests.conftest import verified_session_login

    cookie = f"{django_settings.SESSION_COOKIE_NAME}=" + verified_session_login(Client(), alice).cookies[
        django_settings.SESSION_COOKIE_NAME].value
    other = alice_client.__class__.objects.create(
        clinic=mallory.clinic, therapist=mallory, display_name="Not yours", modality="cbt",
        relationship_approach="supportive",
    )

    # A mistyped address, and a record of another clinic (a view's Http404), logged in.
    for path in ("/no-such-page/", f"/clients/{other.pk}/"):
        status, page = _fetch(local_server + path, Cookie=cookie)
        assert status == 404, path
        assert "We can't find that page" in page and STYLESHEET in page and "Alice Therapist" in page, path
        assert "Page not found at" not in page and "DEBUG = True" not in page and "URLconf" not in page, path

    status, page = _fetch(local_server + "/clinic/audit/", Cookie=cookie)
    assert status == 403 and "You don't have access to this page" in page

    status, page = _fetch(local_server + "/accounts/login/", Host="evil.example")
    assert status == 400 and "This request couldn't be understood" in page
    assert "DisallowedHost" not in page and "Traceback" not in page

    # The pages are styled: static files are served without DEBUG or collectstatic.
    status, css = _fetch(local_server + "/static/css/rapport.css")
    assert status == 200 and css


@pytest.mark.django_db
@pytest.mark.urls("tests.test_error_pages")
def test_make_run_still_shows_the_developer_a_crashs_traceback(settings):
    settings.RAPPORT_DEV_TRACEBACKS = True  # as config.settings.local sets it
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "RuntimeError" in page and "a bug" in page
