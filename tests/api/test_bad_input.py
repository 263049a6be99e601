"""Bad input answers a clear 4xx in the one documented shape, and saves nothing."""

import pytest
from django.urls import reverse

from api.models import Scope
from api.services import api_key_revoke
from audit.models import AuditEvent
from clients.models import Client
from sessions.models import Session
from tests.api.conftest import Api, error_of
from tests.factories import ClientFactory, SessionFactory

pytestmark = pytest.mark.django_db


def client_body(therapist, **extra):
    return {"external_id": "EHR-1", "therapist": therapist.pk, "display_name": "A.B.", "modality": "cbt",
            "relationship_approach": "supportive", **extra}


def test_malformed_json_is_refused(api):
    response = api.post(reverse("api_clients"), raw='{"external_id": "EHR-1",')
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"
    assert not Client.objects.exists()


def test_a_body_that_is_not_an_object_is_refused(api):
    response = api.post(reverse("api_clients"), raw="[1, 2]")
    assert response.status_code == 400
    assert error_of(response)["message"] == "Send a JSON object."


def test_a_form_body_is_refused_as_unsupported(api, alice):
    response = api.post(reverse("api_clients"), raw="external_id=EHR-1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_unknown_fields_are_named_and_nothing_is_saved(api, alice):
    response = api.post(reverse("api_clients"), client_body(alice, diagnosis="F32.1", note="x"))
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["fields"] == {"diagnosis": ["Unknown field."], "note": ["Unknown field."]}
    assert not Client.objects.exists()


def test_every_invalid_field_is_reported_at_once(api, alice):
    response = api.post(reverse("api_clients"), client_body(alice, modality="astrology", email="not-an-email"))
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"modality", "email"}


def test_another_clinics_records_answer_404(api, mallory):
    theirs = ClientFactory(therapist=mallory, external_id="EHR-1")
    session = SessionFactory(client=theirs)
    for response in (
        api.get(reverse("api_client", args=["EHR-1"])),
        api.patch(reverse("api_client", args=["EHR-1"]), {"display_name": "Hijacked"}),
        api.post(reverse("api_client_discharge", args=["EHR-1"])),
        api.get(reverse("api_session", args=[session.pk])),
        api.patch(reverse("api_session", args=[session.pk]), {"attendance": "no_show"}),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    theirs.refresh_from_db()
    session.refresh_from_db()
    assert (theirs.display_name, theirs.status, session.attendance) != ("Hijacked", "discharged", "no_show")
    assert theirs.status == "active" and session.attendance == "attended"


def test_a_session_for_another_clinics_client_is_refused(api, mallory):
    ClientFactory(therapist=mallory, external_id="EHR-1")
    response = api.post(reverse("api_sessions"), {
        "client_external_id": "EHR-1", "scheduled_start": "2026-01-05T10:00:00+00:00", "attendance": "attended",
    })
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"client_external_id": ["No client with this external id in your clinic."]}
    assert not Session.objects.exists()


def test_no_key_an_unknown_key_and_a_revoked_key_answer_401(api, make_key, carol):
    url = reverse("api_clients")
    assert Api().get(url).status_code == 401
    assert Api("rk_deadbeef_not-the-secret").get(url).status_code == 401
    assert Api(api.secret[:-2] + "xx").get(url).status_code == 401
    api_key_revoke(key=api.key, by=carol)
    response = api.get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert error_of(response) == {"code": "unauthenticated", "message": "This API key has been revoked.", "fields": {}}


def test_a_browser_login_is_no_key(client, login, carol):
    login(client, carol)
    response = client.get(reverse("api_clients"))
    assert response.status_code == 401


def test_a_key_without_the_scope_answers_403(make_key, alice):
    _, secret = make_key([Scope.CLIENTS_READ])
    response = Api(secret).post(reverse("api_clients"), client_body(alice))
    assert response.status_code == 403
    assert error_of(response)["message"] == "This API key lacks the scope this request needs: clients:write."
    assert not Client.objects.exists()


def test_an_oversized_body_answers_413_and_saves_nothing(api, alice, settings):
    settings.API_MAX_BODY_BYTES = 1024
    response = api.post(reverse("api_clients"), client_body(alice, display_name="x" * 2000))
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert not Client.objects.exists()


def test_too_many_requests_answer_429_with_retry_after(api, settings):
    settings.API_RATE_LIMIT = "3/m"
    statuses = [api.get(reverse("api_clients")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.get(reverse("api_clients"))
    assert error_of(response)["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1


def test_a_bad_updated_since_is_refused(api):
    response = api.get(reverse("api_clients"), {"updated_since": "yesterday"})
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["updated_since"]


def test_every_call_is_in_the_audit_trail_under_the_key_and_its_maker(api, carol, mallory):
    ClientFactory(therapist=mallory, external_id="EHR-1")
    api.get(reverse("api_clients"))
    api.get(reverse("api_client", args=["EHR-1"]))
    rows = list(AuditEvent.objects.filter(action="api.request").order_by("id"))
    assert [(r.actor, r.clinic, r.object_id, r.detail["endpoint"], r.detail["status"]) for r in rows] == [
        (carol, carol.clinic, str(api.key.pk), "api_clients", 200),
        (carol, carol.clinic, str(api.key.pk), "api_client", 404),
    ]
    assert rows[1].detail["ids"] == {"external_id": "EHR-1"}


@pytest.mark.redis
def test_the_rate_limit_counts_in_the_shared_redis_cache(api, settings, require_redis):
    """As in production: every web process counts against one limit per key, in Redis.
    A second test client stands in for a second web process; only Redis is shared."""
    import redis

    # A prefix of this test's own (the key's random prefix), so nothing else in the
    # Redis database is touched: clear() would flush it, broker queues included.
    prefix = f"api-test-{api.key.prefix}"
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": settings.REDIS_URL, "KEY_PREFIX": prefix,
    }}
    settings.API_RATE_LIMIT = "3/m"
    other_process = Api(api.secret)
    try:
        statuses = [c.get(reverse("api_clients")).status_code for c in (api, other_process, api, other_process)]
        assert statuses == [200, 200, 200, 429]
        server = redis.Redis.from_url(settings.REDIS_URL)
        assert list(server.scan_iter(f"{prefix}:*"))
    finally:
        server = redis.Redis.from_url(settings.REDIS_URL)
        for name in server.scan_iter(f"{prefix}:*"):
            server.delete(name)
