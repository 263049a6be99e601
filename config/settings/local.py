"""The embedded default that `make run` uses: SQLite, filesystem broker, file emails."""

import copy

from .base import *  # noqa: F401,F403
from .base import TEMPLATES, env

# Not Django's DEBUG: a missing page, a refused one or a bad request shows Rapport's own
# error page (templates/404.html, 403.html, 400.html), as users will see it in
# production, rather than Django's debug page. A crash still shows the developer its
# traceback (config/errors.py). DEBUG=true opts into all of Django's debug pages.
DEBUG = env.bool("DEBUG", default=False)
RAPPORT_DEV_TRACEBACKS = env.bool("RAPPORT_DEV_TRACEBACKS", default=True)
# What DEBUG would otherwise give `make run`: static files straight from static/ (no
# collectstatic), picked up as they change, and template errors with their source line.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
TEMPLATES = copy.deepcopy(TEMPLATES)
TEMPLATES[0]["OPTIONS"]["debug"] = True
# The development outbox page (alliance/checkins/dev_views.py) lists var/outbox/ emails.
RAPPORT_DEV_OUTBOX = True
# Webhook receivers under `make run` live on this machine (webhooks/destinations.py).
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=True)
