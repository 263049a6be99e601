"""Shared pieces of the API tests: keys made by the real service, and a JSON client
that sends one. Real PostgreSQL (under CI), real cache, real services."""

import json

import pytest
from django.test import Client as DjangoClient

from api.models import Scope
from api.services import api_key_create
from tests.sessions.conftest import session_form  # noqa: F401 - the browser form's body, to compare with

ALL_SCOPES = tuple(Scope.values)


@pytest.fixture
def make_key(carol):
    """make_key(scopes, by=carol) -> (ApiKey, secret) for the maker's clinic."""

    def make(scopes=ALL_SCOPES, by=None, name="EHR sync"):
        by = by or carol
        return api_key_create(clinic=by.clinic, by=by, name=name, scopes=list(scopes))

    return make


class Api:
    """Django's test client speaking JSON with a bearer key."""

    def __init__(self, secret=None):
        self.http = DjangoClient()
        self.secret = secret

    def _headers(self, extra):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"} if self.secret else {}
        headers.update(extra)
        return headers

    def get(self, url, params=None, **extra):
        return self.http.get(url, params or {}, **self._headers(extra))

    def post(self, url, body=None, raw=None, **extra):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.http.post(url, data, content_type=extra.pop("content_type", "application/json"), **self._headers(extra))

    def patch(self, url, body=None, raw=None, **extra):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.http.patch(url, data, content_type="application/json", **self._headers(extra))


@pytest.fixture
def api(make_key):
    """An Api holding a key with every scope, of Carol's clinic (Harbour Clinic)."""
    key, secret = make_key()
    client = Api(secret)
    client.key = key
    return client


def error_of(response):
    """The documented error shape, asserted: {"error": {"code", "message", "fields"}}."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"]
    return body["error"]
