"""The OpenAPI schema: generated without a warning, valid OpenAPI 3, naming every API
endpoint; and its docs page served from our own static files under our CSP."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse
from openapi_spec_validator import validate

from tests.security.test_csp_pages import violations
from tests.security.world import all_routes

pytestmark = pytest.mark.django_db


def _openapi_path(route):
    """"api/v1/clients/<str:external_id>/" -> "/api/v1/clients/{external_id}/"."""
    # drf-spectacular names a primary key {id}, as OpenAPI documents conventionally do.
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{id}" if m.group(1) == "pk" else "{%s}" % m.group(1), route)


@pytest.fixture(scope="module")
def schema():
    from io import StringIO

    out = StringIO()
    # --fail-on-warn: a warning (an unresolvable serializer, a colliding operation id)
    # fails the command, and so this test.
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return yaml.safe_load(out.getvalue())


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_every_endpoint_is_in_the_schema(schema):
    routes = [r for r in all_routes() if r.route.startswith(("api/v1/", "fhir/")) and r.name not in ("api_schema", "api_docs")]
    assert len(routes) >= 15
    missing = sorted(_openapi_path(r.route) for r in routes if _openapi_path(r.route) not in schema["paths"])
    assert missing == []


def test_every_operation_documents_the_error_shape_and_the_key(schema):
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "description": "A clinic's API key, made on /clinic/api-keys/.",
    }
    error = schema["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"error"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path == "/fhir/metadata":
                continue
            assert "401" in operation["responses"] and "403" in operation["responses"], (method, path)
            assert operation["security"] == [{"apiKey": []}], (method, path)


def test_the_schema_is_served_at_a_stable_url(client):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["info"]["title"] == "Rapport API"


def test_the_docs_page_loads_only_our_own_static_files(client, settings):
    response = client.get(reverse("api_docs"))
    assert response.status_code == 200
    html = response.content
    assert "Content-Security-Policy" in response and violations(html) == []
    urls = re.findall(rb'(?:src|href)="([^"]+)"', html)
    assert urls, html
    for url in urls:
        assert url.startswith(settings.STATIC_URL.encode()) or url.startswith(b"/api/v1/docs/"), url
    assert b"//" not in b"".join(u for u in urls)
    script = client.get(reverse("api_docs") + "?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
    # Each is a file we ship (drf-spectacular-sidecar's vendored Swagger UI, our css).
    for url in (u for u in urls if u.startswith(settings.STATIC_URL.encode())):
        assert finders.find(url.decode()[len(settings.STATIC_URL):]), url
