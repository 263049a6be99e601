"""Client emails. Each email is three templates in templates/emails/ — subject, text
body, HTML body — behind this one helper, as in healthchecks' hc/lib/emails.py. Their
words go through Django's translation machinery and are rendered in the client's
language (`translation.override`), with that language's date formats.

What a check-in email may say is deliberately little: the clinic's name, a neutral
subject, the link, when it expires and how to stop these emails. Never the therapist,
the client's name, the session or any score: the inbox may be shared or read over a
shoulder.
"""

from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .wording import client_language


def email_render(name, context, *, language, tz=None):
    """Return (subject, text, html) of email `name` in `language` (English if we do
    not write that language). Dates render in `tz`, the clinic's time zone."""
    language = client_language(language)
    with translation.override(language), timezone.override(tz or timezone.get_current_timezone()):
        subject = render_to_string(f"emails/{name}-subject.txt", context)
        text = render_to_string(f"emails/{name}-body.txt", context)
        html = render_to_string(f"emails/{name}-body.html", context)
    # A subject is one line, whatever the template's whitespace.
    return " ".join(subject.split()), text, html


def email_send(name, *, to, context, language, tz=None, headers=None, sender_name=None, on_accepted=None):
    """Render and send one email over a connection of its own, raising on failure.

    `on_accepted` runs as soon as the server has accepted the message, before the
    connection is closed, so that the caller can record the send without waiting for
    QUIT's round trip (alliance/checkins/outbox.py: the shorter that gap, the smaller the chance a
    crash in it sends the email twice). Closing swallows errors for the same reason:
    once the message is accepted, a failing QUIT must not make it look unsent."""
    subject, text, html = email_render(name, context, language=language, tz=tz)
    from_email = settings.DEFAULT_FROM_EMAIL
    if sender_name:
        # The clinic's name in front of our address: the client knows the clinic.
        from_email = formataddr((sender_name, parseaddr(from_email)[1]))
    message = EmailMultiAlternatives(subject, text, from_email=from_email, to=[to], headers=headers or {})
    message.attach_alternative(html, "text/html")
    connection = get_connection(fail_silently=False)
    connection.open()
    try:
        if not connection.send_messages([message]):
            raise OSError("the email backend accepted no message")
        if on_accepted is not None:
            on_accepted()
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - see the docstring
            pass
    return message
