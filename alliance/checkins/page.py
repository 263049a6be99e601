"""The check-in form's page, drawn once per process and language.

Every client who opens a check-in link gets the same page but for four things: the
clinic's name, when the link stops working, the link to stop the emails, and the
language. Drawing it through the template engine on every request was most of what a
check-in GET cost, so the blank form's page is rendered once per process, language and
kind of link (with or without the unsubscribe link) with markers where those values go,
and each request fills them in, escaped as the template would escape them. Tests
compare the result with the template's own rendering, byte for byte, for every
language (tests/alliance/checkins/test_checkin_page_frame.py).

Only the blank form is kept: a form sent back with errors carries the client's answers
and is drawn by the template, as is the hand-over screen (it holds a CSRF token). With
DEBUG on (a developer editing templates), nothing is kept.
"""

import re
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, translation
from django.utils import timezone as dj_timezone
from django.utils.html import conditional_escape

from .forms import COMMENT_MAX, CheckInForm

TEMPLATE = "survey/checkin.html"
# Private-use characters: nothing the template or a translation writes, and nothing
# autoescaping changes.
_SLOTS = {"clinic_name": "\ue000clinic\ue000", "expires_on": "\ue000expires\ue000", "unsubscribe_url": "\ue000unsubscribe\ue000"}


def expiry_text(expires_at, tzinfo):
    """When a link stops working, as the page says it: the clinic's local time in the
    active language's DATETIME_FORMAT ("" when it has no end yet)."""
    if expires_at is None:
        return ""
    return formats.date_format(dj_timezone.localtime(expires_at, tzinfo), "DATETIME_FORMAT")


def page_context(*, form, clinic_name, expires_on, unsubscribe_url):
    """The template's context for the check-in form (the link pages and the hand-over
    screen add to it)."""
    return {
        "form": form, "comment_max": COMMENT_MAX, "clinic_name": clinic_name, "expires_on": expires_on,
        "unsubscribe_url": unsubscribe_url,
    }


@lru_cache(maxsize=64)
def _frame(language, with_unsubscribe):
    """The blank form's page in `language`, split at its slots: a tuple alternating
    literal text and slot names (at the odd places), starting and ending with text."""
    with translation.override(language):
        html = render_to_string(
            TEMPLATE,
            {
                "language": language,
                **page_context(
                    form=CheckInForm(), clinic_name=_SLOTS["clinic_name"], expires_on=_SLOTS["expires_on"],
                    unsubscribe_url=_SLOTS["unsubscribe_url"] if with_unsubscribe else None,
                ),
            },
        )
    # re.split with one group: literal text at the even places, a marker at the odd ones.
    parts = _MARKERS.split(html)
    return tuple(_NAMES[part] if n % 2 else part for n, part in enumerate(parts))


_NAMES = {marker: name for name, marker in _SLOTS.items()}
_MARKERS = re.compile("(" + "|".join(map(re.escape, _SLOTS.values())) + ")")


def blank_form_html(language, *, clinic_name, expires_on, unsubscribe_url):
    """The blank check-in page in `language` (already one we write), with these values."""
    values = {
        "clinic_name": conditional_escape(clinic_name), "expires_on": conditional_escape(expires_on),
        "unsubscribe_url": conditional_escape(unsubscribe_url or ""),
    }
    frame = _frame(language, bool(unsubscribe_url))
    return "".join(values[part] if n % 2 else part for n, part in enumerate(frame))


def checkin_page(request, *, language, clinic_name, tzinfo, expires_at, token, with_unsubscribe, form=None, status=200):
    """The check-in form's page for a link (language: one we write, see
    wording.client_language). `form` None is the blank form (kept, see the module
    docstring); a bound form with errors is drawn by the template."""
    with translation.override(language):
        expires_on = expiry_text(expires_at, tzinfo)
        unsubscribe_url = reverse("survey_unsubscribe", args=[token]) if with_unsubscribe else None
        if form is None and not settings.DEBUG:
            response = HttpResponse(
                blank_form_html(language, clinic_name=clinic_name, expires_on=expires_on, unsubscribe_url=unsubscribe_url),
                status=status,
            )
        else:
            context = page_context(
                form=form or CheckInForm(), clinic_name=clinic_name, expires_on=expires_on, unsubscribe_url=unsubscribe_url
            )
            response = render(request, TEMPLATE, {"language": language, **context}, status=status)
    response["Content-Language"] = language
    return response
