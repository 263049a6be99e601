"""One error shape for every 4xx the API gives (documented in the OpenAPI schema as
`Error`):

    {"error": {"code": "invalid", "message": "…", "fields": {"field": ["…"]}}}

`code` is stable, for programs; `message` is for people; `fields` names the fields at
fault (empty when the fault is not one field's). Under /fhir/ the same errors come as
a FHIR OperationOutcome, as FHIR clients expect.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("This conflicts with a record that already exists.")
    default_code = "conflict"


CODES = {
    exceptions.ParseError: "malformed_json",
    exceptions.AuthenticationFailed: "unauthenticated",
    exceptions.NotAuthenticated: "unauthenticated",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "invalid",
}


def _flatten(detail):
    """DRF's nested error detail as {field: [messages]}; non-field errors under ""."""
    if isinstance(detail, dict):
        out = {}
        for name, value in detail.items():
            key = "" if name in ("non_field_errors", "__all__") else name
            messages = _flatten(value)
            if isinstance(messages, dict):
                for sub, msgs in messages.items():
                    out[f"{key}.{sub}" if sub else key] = msgs
            else:
                out.setdefault(key, []).extend(messages)
        return out
    if isinstance(detail, list):
        messages = []
        for item in detail:
            flat = _flatten(item)
            messages.extend(flat if isinstance(flat, list) else [m for ms in flat.values() for m in ms])
        return messages
    return [str(detail)]


def error_body(code, message, fields=None):
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found (or not in your clinic)."))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a server error: Django's 500 handling, never a detail in the body
    code = next((c for cls, c in CODES.items() if isinstance(exc, cls)), getattr(exc, "default_code", "error"))
    if isinstance(exc.detail, (dict, list)):
        fields = _flatten(exc.detail)
        if isinstance(fields, list):
            fields = {"": fields}
        general = fields.get("")
        named = {k: v for k, v in fields.items() if k}
        if general:
            message = general[0]
        elif len(named) == 1:
            message = next(iter(named.values()))[0]
        else:
            message = _("Some fields are not valid: see “fields”.")
        body = error_body(code, message, named)
    else:
        body = error_body(code, exc.detail)
    request = context.get("request")
    if request is not None and request.path.startswith("/fhir/"):
        from .fhir.resources import operation_outcome

        response.data = operation_outcome(code=code, message=body["error"]["message"], status=response.status_code)
        response.content_type = "application/fhir+json"
    else:
        response.data = body
    return response
