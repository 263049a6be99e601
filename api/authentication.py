"""API-key authentication: `Authorization: Bearer rk_<prefix>_<secret>`.

The request's user becomes the clinic admin who made the key, so every audit row a
service writes names a person; the key itself rides along as `request.auth` (and on
the Django request, where audit.services.audit_record adds its prefix to the row).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from . import keys
from .models import ApiKey
from .services import api_key_touch

INVALID = _("The API key is not valid.")


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(_("Send the key as “Authorization: Bearer <key>”."))
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(INVALID) from None
        prefix = keys.split(secret)
        key = None
        if prefix is not None:
            key = ApiKey.objects.select_related("clinic", "created_by").filter(prefix=prefix).first()
        if key is None or not keys.matches(secret, key.secret_hash):
            raise AuthenticationFailed(INVALID)
        if not key.is_active:
            raise AuthenticationFailed(_("This API key has been revoked."))
        api_key_touch(key=key)
        request._request.api_key = key
        return key.created_by, key

    def authenticate_header(self, request):
        # Makes a missing or bad key answer 401 (with this challenge) rather than 403.
        return 'Bearer realm="rapport"'


class ApiKeySchema(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the key: an HTTP bearer token."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A clinic's API key, made on /clinic/api-keys/."}
