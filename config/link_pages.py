"""The pages a client opens from a check-in link (/s/…) run only the middleware they
need; every other page runs all of settings.MIDDLEWARE.

A link page has no login, no session and no form that a cookie authorises (the token in
the path is the only key, alliance/checkins/views.py), so sessions, CSRF, auth,
messages, the second-factor and session-timeout gates, the staff time zone, the
hand-over lock and axes have nothing to do there, yet each cost something on every
check-in. What a link page does need stays: the security headers, the URL fix-ups,
the anti-framing header and the CSP (settings.LINK_PAGES_MIDDLEWARE).

Django builds one middleware chain per handler, so the WSGI application is two
handlers and a switch on the path (`application` in config/wsgi.py). The staff page
that happens to live under /s/ (a therapist's "send it again", /s/manage/…) is not a
link page and gets the whole chain.
"""

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

LINK_PREFIX = "/s/"
# Under /s/ but a logged-in therapist's: the whole chain.
STAFF_UNDER_LINK_PREFIX = ("/s/manage/",)


def is_link_page(path):
    return path.startswith(LINK_PREFIX) and not path.startswith(STAFF_UNDER_LINK_PREFIX)


class LinkPagesHandler(WSGIHandler):
    """Django's WSGI handler with settings.LINK_PAGES_MIDDLEWARE as its chain."""

    def load_middleware(self, is_async=False):
        # Django reads the chain from settings.MIDDLEWARE while it builds it, once, when
        # the handler is made (at import of the WSGI module, before any request): swap
        # the list in for that moment only. (Not django.test's override_settings, which
        # would load the test machinery into every web worker.)
        everything = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.LINK_PAGES_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = everything


class LinkPagesSwitch:
    """A WSGI application: link pages to `links`, everything else to `staff`."""

    def __init__(self, staff, links):
        self.staff, self.links = staff, links

    def __call__(self, environ, start_response):
        handler = self.links if is_link_page(environ.get("PATH_INFO", "")) else self.staff
        return handler(environ, start_response)


def middleware_names(handler):
    """The middleware classes a handler's chain runs, outermost first (for tests and
    for anyone asking what a page goes through)."""
    names, layer = [], handler._middleware_chain
    while layer is not None:
        # convert_exception_to_response wraps each layer; the middleware is inside it.
        inner = getattr(layer, "__wrapped__", layer)
        get_response = getattr(inner, "get_response", None)
        if get_response is None:
            break
        names.append(f"{type(inner).__module__}.{type(inner).__qualname__}")
        layer = get_response
    return names


# What a view can ask of django-csp for its own response; a link page asks none of it.
_PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")


class LinkPagesCSPMiddleware(CSPMiddleware):
    """django-csp's middleware with the header built once per process and policy.

    A link page takes no nonce and no per-view change to the policy, so its header is
    the same on every response; django-csp builds it anew each time (a tenth of the
    middleware's cost per check-in). A response that does ask for a nonce or a change,
    or a policy with a report-only part or excluded prefixes, goes through django-csp
    as it is."""

    _built = {}

    def process_response(self, request, response):
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
        if (
            settings.DEBUG
            or getattr(request, "_csp_nonce", None) is not None
            or any(getattr(response, name, None) for name in _PER_RESPONSE)
            or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            or policy.get("EXCLUDE_URL_PREFIXES")
        ):
            return super().process_response(request, response)
        key = repr(policy)
        header = self._built.get(key)
        if header is None:
            header = self._built[key] = build_policy()
        if header and HEADER not in response and not getattr(response, "_csp_exempt", False):
            response[HEADER] = header
        # As django-csp does: a nonce asked for after the header was written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
