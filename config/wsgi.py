import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# Sets Django up (settings, apps) before the link pages' handler is built.
staff_application = get_wsgi_application()

from config.link_pages import LinkPagesHandler, LinkPagesSwitch  # noqa: E402

# Check-in link pages (/s/…) run only the middleware they need (config/link_pages.py).
application = LinkPagesSwitch(staff=staff_application, links=LinkPagesHandler())
