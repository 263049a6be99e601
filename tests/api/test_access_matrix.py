"""Every API and FHIR endpoint × method × key: a key with exactly the scope the method
needs is let in; a key with every other scope gets 403; another clinic's key with every
scope gets 404 for this clinic's records and none of them in its lists; a revoked key
and no key get 401. The endpoints are read from the URL configuration, so a new one is
covered (and must name its scopes) the day it is added."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from alliance.models import Flag
from api.models import Scope
from api.services import api_key_create, api_key_revoke
from tests.factories import CheckInFactory, ClientFactory, SessionFactory, UserFactory
from tests.security.world import all_routes

pytestmark = pytest.mark.django_db
PUBLIC = {"api_schema", "api_docs", "fhir_metadata"}


def api_routes():
    return [r for r in all_routes() if r.route.startswith(("api/v1/", "fhir/")) and r.name not in PUBLIC]


@pytest.fixture
def world(alice, carol, other_clinic):
    client = ClientFactory(therapist=alice, external_id="EXT-A")
    session = SessionFactory(client=client)
    checkin = CheckInFactory(session=session)
    flag = Flag.objects.create(client=client, kind="drop", severity=5, session=session, detail="-4")
    olga = UserFactory(clinic=other_clinic, role="clinic_admin")
    kwargs = {
        "api_client": {"external_id": "EXT-A"}, "api_client_discharge": {"external_id": "EXT-A"},
        "api_session": {"pk": session.pk}, "api_flag_acknowledge": {"pk": flag.pk},
        "fhir_questionnaire": {"pk": "alliance-checkin"}, "fhir_questionnaire_response": {"pk": checkin.pk},
        "fhir_observation": {"pk": f"{checkin.pk}-total"},
    }
    return {"carol": carol, "olga": olga, "kwargs": kwargs, "markers": [b"EXT-A"]}


def call(method, url, secret):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
    client = Client()
    if method == "GET":
        return client.get(url, **headers)
    return getattr(client, method.lower())(url, json.dumps({}), content_type="application/json", **headers)


def key(by, scopes):
    return api_key_create(clinic=by.clinic, by=by, name="matrix", scopes=list(scopes))


def test_every_api_endpoint_names_a_scope_for_each_method_it_answers():
    for route in api_routes():
        scopes = route.callback.view_class.scopes
        assert scopes and set(scopes.values()) <= set(Scope.values), route.name
        handlers = {m.upper() for m in ("get", "post", "patch", "put", "delete") if hasattr(route.callback.view_class, m)}
        assert handlers == set(scopes), (route.name, handlers, scopes)


def test_the_api_access_matrix(world):
    problems, checked = [], 0
    for route in api_routes():
        url = reverse(route.name, kwargs=world["kwargs"].get(route.name, {}))
        for method, scope in route.callback.view_class.scopes.items():
            own = key(world["carol"], [scope])[1]
            others = key(world["carol"], [s for s in Scope.values if s != scope])[1]
            elsewhere = key(world["olga"], Scope.values)[1]
            revoked_key, revoked = key(world["carol"], Scope.values)
            api_key_revoke(key=revoked_key, by=world["carol"])
            cases = [
                ("the scope it needs", own, lambda s: s not in (401, 403, 404) and s < 500),
                ("every other scope", others, lambda s: s == 403),
                ("no key", None, lambda s: s == 401),
                ("a revoked key", revoked, lambda s: s == 401),
            ]
            if route.name != "fhir_questionnaire":  # our instrument, the same for every clinic
                expect = (lambda s: s == 404) if world["kwargs"].get(route.name) else (lambda s: s in (200, 400))
                cases.append(("another clinic's key", elsewhere, expect))
            for label, secret, ok in cases:
                response = call(method, url, secret)
                checked += 1
                if not ok(response.status_code):
                    problems.append(f"{method} {url} ({route.name}) with {label}: {response.status_code}")
                if label == "another clinic's key" and any(m in response.content for m in world["markers"]):
                    problems.append(f"{method} {url} ({route.name}) with {label} shows this clinic's records")
    print(f"\nAPI access matrix: {checked} (endpoint, method, key) checks")
    assert checked >= 80
    assert not problems, "\n".join(problems)
