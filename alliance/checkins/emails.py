"""Client emails. Each email is three templates in templates/emails/ — subject, text
body, HTML body — behind this one helper, as in healthchecks' hc/lib/emails.py. Their
words go through Django's translation machinery and are rendered in the client's
language (`translation.override`), with that language's date formats.

What a check-in email may say is deliberately little: the clinic's name, a neutral
subject, the link, when it expires and how to stop these emails. Never the therapist,
the client's name, the session or any score: the inbox may be shared or read over a
shoulder.
"""

import re
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .wording import client_language

# A URL that HTML escaping leaves as it is.
_PLAIN_URL = re.compile(r"[A-Za-z0-9:/._~-]+")


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


def email_message(name, *, to, context, language, tz=None, headers=None, sender_name=None, batch=None, links=()):
    """Render email `name` for one recipient, ready to send. With `batch`, emails that
    differ only in the context's `links` (its URLs) are rendered once per batch."""
    if batch is not None:
        subject, text, html = batch.render(name, context, language=language, tz=tz, links=links)
    else:
        subject, text, html = email_render(name, context, language=language, tz=tz)
    from_email = settings.DEFAULT_FROM_EMAIL
    if sender_name:
        # The clinic's name in front of our address: the client knows the clinic.
        from_email = formataddr((sender_name, parseaddr(from_email)[1]))
    message = EmailMultiAlternatives(subject, text, from_email=from_email, to=[to], headers=headers or {})
    message.attach_alternative(html, "text/html")
    return message


def email_send(name, *, to, context, language, tz=None, headers=None, sender_name=None, on_accepted=None):
    """Render and send one email over a connection of its own, raising on failure.

    `on_accepted` runs as soon as the server has accepted the message, before the
    connection is closed, so that the caller can record the send without waiting for
    QUIT's round trip (alliance/checkins/outbox.py: the shorter that gap, the smaller the chance a
    crash in it sends the email twice). Closing swallows errors for the same reason:
    once the message is accepted, a failing QUIT must not make it look unsent."""
    message = email_message(
        name, to=to, context=context, language=language, tz=tz, headers=headers, sender_name=sender_name
    )
    with EmailBatch() as batch:
        batch.send(message, on_accepted=on_accepted)
    return message


class EmailBatch:
    """Many emails over one connection to the email backend (one SMTP session: EHLO
    once, then MAIL, RCPT, DATA per message), as the outbox sends a batch.

    `send` raises on failure like `email_send`, and drops the connection after any
    error, so the next message starts on a fresh one rather than on a session the
    server may have given up on. `on_accepted` runs the moment the server has taken the
    message, before anything else is sent. Closing swallows errors (see email_send)."""

    def __init__(self):
        self.connection = None
        self._rendered = {}

    def render(self, name, context, *, language, tz=None, links=()):
        """email_render's (subject, text, html), rendered once per batch for emails
        whose context differs only in `links`: the templates are rendered with a
        placeholder for each link, and each email gets its own links put in their place.

        Only for links that escaping leaves alone (letters, digits and `:/._~-`, as our
        signed-token URLs are) and that the templates show as they are (each placeholder
        is found in both bodies); anything else is rendered in full."""
        real = {key: context[key] for key in links}
        key = (name, language, str(tz), tuple(sorted((k, str(v)) for k, v in context.items() if k not in real)))
        if not real or not all(_PLAIN_URL.fullmatch(url) for url in real.values()):
            return email_render(name, context, language=language, tz=tz)
        if key not in self._rendered:
            marks = {k: f"https://rapport-link-{n}.invalid/" for n, k in enumerate(real)}
            rendered = email_render(name, {**context, **marks}, language=language, tz=tz)
            usable = all(mark in part for mark in marks.values() for part in rendered[1:])
            self._rendered[key] = (rendered, marks) if usable else None
        if self._rendered[key] is None:
            return email_render(name, context, language=language, tz=tz)
        rendered, marks = self._rendered[key]
        out = []
        for part in rendered:
            for k, mark in marks.items():
                part = part.replace(mark, real[k])
            out.append(part)
        return tuple(out)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, message, *, on_accepted=None):
        if self.connection is None:
            self.connection = get_connection(fail_silently=False)
            self.connection.open()
        try:
            if not self.connection.send_messages([message]):
                raise OSError("the email backend accepted no message")
        except BaseException:
            self.close()
            raise
        if on_accepted is not None:
            on_accepted()

    def close(self):
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - see the class docstring
                pass
