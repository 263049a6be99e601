"""The 500 handler. Everyone sees Rapport's apology page (templates/500.html), except
under the embedded default (`make run`, config.settings.local), where
RAPPORT_DEV_TRACEBACKS shows the developer Django's traceback for a crash while every
other error (404, 403, 400, CSRF) shows Rapport's own page, as in production."""

import sys

from django.conf import settings
from django.views import debug, defaults


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    exc_info = sys.exc_info()
    if getattr(settings, "RAPPORT_DEV_TRACEBACKS", False) and exc_info[0] is not None:
        return debug.technical_500_response(request, *exc_info)
    return defaults.server_error(request, template_name=template_name)
