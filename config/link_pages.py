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
