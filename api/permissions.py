"""Scopes and the per-key rate limit. A view names the scope each method needs in
`scopes` ({"GET": Scope.SCORES_READ, "POST": ...}); a method it does not name needs a
scope no key has, so forgetting one refuses rather than opens."""

from django.conf import settings
from django.utils.translation import gettext as _
from django_ratelimit import ALL
from django_ratelimit.core import get_usage
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

from .models import ApiKey


def required_scope(request, view):
    scopes = getattr(view, "scopes", {})
    method = "GET" if request.method == "HEAD" else request.method
    return scopes.get(method)


class HasScope(BasePermission):
    def has_permission(self, request, view):
        if request.method == "OPTIONS":
            return isinstance(request.auth, ApiKey)
        if not isinstance(request.auth, ApiKey):
            raise NotAuthenticated(_("Send an API key as “Authorization: Bearer <key>”."))
        scope = required_scope(request, view)
        if scope is None or not request.auth.has_scope(scope):
            raise PermissionDenied(
                _("This API key lacks the scope this request needs: %(scope)s.") % {"scope": scope or "-"}
            )
        return True


class ApiKeyRateLimit(BaseThrottle):
    """settings.API_RATE_LIMIT requests per key, counted by django-ratelimit in the shared
    cache (Redis in production), so every web process counts against the same limit."""

    def allow_request(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            return True
        usage = get_usage(
            request._request, group="api-key", key=lambda group, req: str(key.pk),
            rate=settings.API_RATE_LIMIT, method=ALL, increment=True,
        )
        self._wait = max(usage["time_left"], 1) if usage else None
        return not (usage and usage["should_limit"])

    def wait(self):
        return getattr(self, "_wait", None)
