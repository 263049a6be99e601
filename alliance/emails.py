"""Client emails. Each email is three templates in templates/emails/ — subject, text
body, HTML body — per language (`checkin-subject.es.txt`, …), behind this one helper,
as in healthchecks' hc/lib/emails.py.

What a check-in email may say is deliberately little: the clinic's name, a neutral
subject, the link, when it expires and how to stop these emails. Never the therapist,
the client's name, the session or any score: the inbox may be shared or read over a
shoulder.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import timezone, translation

LANGUAGES = ("en", "es")


def email_render(name, context, *, language, tz=None):
    """Return (subject, text, html) of email `name` in `language` (English if we do
    not write that language). Dates render in `tz`, the clinic's time zone."""
    language = language if language in LANGUAGES else "en"
    with translation.override(language), timezone.override(tz or timezone.get_current_timezone()):
        subject = render_to_string(f"emails/{name}-subject.{language}.txt", context)
        text = render_to_string(f"emails/{name}-body.{language}.txt", context)
        html = render_to_string(f"emails/{name}-body.{language}.html", context)
    # A subject is one line, whatever the template's whitespace.
    return " ".join(subject.split()), text, html


def email_send(name, *, to, context, language, tz=None, headers=None):
    """Render and send one email over a connection of its own, raising on failure.

    The connection is closed in a `finally` that swallows errors: once the server has
    accepted the message, a failing QUIT must not make the caller think it was not sent
    (that would send it twice)."""
    subject, text, html = email_render(name, context, language=language, tz=tz)
    message = EmailMultiAlternatives(
        subject, text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to], headers=headers or {}
    )
    message.attach_alternative(html, "text/html")
    connection = get_connection(fail_silently=False)
    connection.open()
    try:
        sent = connection.send_messages([message])
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - see the docstring
            pass
    if not sent:
        raise OSError("the email backend accepted no message")
    return message
