"""Development only, mounted at /dev/ when settings.RAPPORT_DEV_OUTBOX is set."""

from django.urls import path

from . import dev_views as outbox

urlpatterns = [
    path("outbox/", outbox.dev_outbox, name="dev_outbox"),
]
