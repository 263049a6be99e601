"""Client emails. Each email is three templates in templates/emails/ — subject, text
body, HTML body — behind this one helper, as in healthchecks' hc/lib/emails.py. Their
words go through Django's translation machinery and are rendered in the client's
language (`translation.override`), with that language's date formats.

What a check-in email may say is deliberately little: the clinic's name, a neutral
subject, the link, when it expires and how to stop these emails. Never the therapist,
the client's name, the session or any score: the inbox may be shared or read over a
shoulder.
"""

import logging
import re
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .wording import client_language

log = logging.getLogger(__name__)

# A URL that HTML escaping leaves as it is.
_PLAIN_URL = re.compile(r"[A-Za-z0-9:/._~-]+")
# An address that goes into the To header and the envelope as it is (no display name,
# nothing to encode, too short to fold).
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]{1,40}@[A-Za-z0-9.-]{1,30}")


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

    def send_email(self, name, *, to, context, language, tz=None, headers=None, sender_name=None, links=(),
                   on_accepted=None):
        """Render email `name` for `to` and send it over the batch's connection, as
        `send(email_message(...))` would, but at the cost of a copy: over SMTP, emails
        that differ only in their recipient and their `links` are one frame, the
        message's bytes built once by Django with a placeholder in each of those places
        (and in Date and Message-ID), which each email fills in. The process keeps the
        last _FRAMES_KEPT frames, keyed by everything else the email is made of (the
        context's other values, language, time zone, sender, headers), so the batches
        of a minute, whose check-ins state one expiry, share them.

        A frame is trusted only once it has proved itself: the first email it makes is
        compared byte for byte with the one Django builds for that recipient (same
        Date, Message-ID and MIME boundary), and on any difference emails of that kind
        are built by Django in full. A recipient or link that would need encoding or
        folding is built in full too."""
        email = dict(name=name, context=context, language=language, tz=tz, headers=headers or {},
                     sender_name=sender_name)
        real = {key: str(context[key]) for key in links}
        frame = None
        if isinstance(self._open(), SMTPBackend) and _PLAIN_ADDRESS.fullmatch(to) and all(
            _PLAIN_URL.fullmatch(url) for url in real.values()
        ):
            values = {**real, _TO: to, _DATE: formatdate(localtime=settings.EMAIL_USE_LOCALTIME),
                      _MESSAGE_ID: make_msgid(domain=DNS_NAME)}
            frame = self._frame(email, real, values, links)
        if frame is None:
            message = email_message(to=to, batch=self, links=links, **email)
            self.send(message, on_accepted=on_accepted)
            return
        self._sendmail(frame.sender, to, frame.fill(values), on_accepted=on_accepted)

    def _frame(self, email, real, values, links):
        """The kept frame for emails like this one (`values` are this one's places), made
        and proved if there is none yet; None when they are to be built in full."""
        context = email["context"]
        key = (email["name"], email["language"], str(email["tz"]), email["sender_name"], settings.DEFAULT_FROM_EMAIL,
               tuple(sorted(_with_links(email["headers"], real, {k: f"{{{k}}}" for k in real}).items())),
               tuple((k, len(v)) for k, v in sorted(real.items())),
               tuple(sorted((k, str(v)) for k, v in context.items() if k not in real)))
        if key in _FRAMES:
            return _FRAMES[key]
        frame = _Frame.build(links=real, **email)
        if frame is not None:
            # Its first email, built by Django in full, is the proof.
            message = email_message(
                to=values[_TO], batch=self, links=links,
                **{**email, "headers": {**email["headers"], "Date": values[_DATE], "Message-ID": values[_MESSAGE_ID]}},
            )
            built = message.message()
            built.set_boundary(frame.boundary)
            if frame.fill(values) != built.as_bytes(linesep="\r\n"):
                log.warning("emails.frame_mismatch name=%s language=%s", email["name"], email["language"])
                frame = None
        if len(_FRAMES) >= _FRAMES_KEPT:
            _FRAMES.pop(next(iter(_FRAMES)))  # the oldest
        _FRAMES[key] = frame
        return frame

    def _open(self):
        if self.connection is None:
            self.connection = get_connection(fail_silently=False)
            self.connection.open()
        return self.connection

    def _sendmail(self, sender, to, data, *, on_accepted=None):
        """What Django's SMTP backend does with a built message (smtplib's sendmail),
        with send's error handling."""
        try:
            self.connection.connection.sendmail(sender, [to], data)
        except BaseException:
            self.close()
            raise
        if on_accepted is not None:
            on_accepted()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, message, *, on_accepted=None):
        self._open()
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


def _with_links(headers, links, marks):
    """The headers with each link's value replaced by its mark."""
    out = {}
    for header, value in headers.items():
        for k, v in links.items():
            value = value.replace(v, marks[k])
        out[header] = value
    return out


# Frames by what they are made of (EmailBatch.send_email); None: built in full.
_FRAMES = {}
_FRAMES_KEPT = 64

# The places a frame leaves to each email (links are named by their context key).
_TO, _DATE, _MESSAGE_ID = "\0to", "\0date", "\0message-id"


class _Frame:
    """A message's bytes with placeholders: `parts` alternate literal bytes and the
    names of the values that go between them."""

    def __init__(self, sender, parts, boundary):
        self.sender, self.parts, self.boundary = sender, parts, boundary

    @classmethod
    def build(cls, name, *, context, links, language, tz, headers, sender_name):
        """The frame of emails like this one, or None if its placeholders do not come
        through Django's rendering and encoding as they went in. Each placeholder has
        the length of the value it stands for (a date is always 31 characters), so
        nothing about line lengths differs between the frame and a real email."""
        marks = {k: (f"rapport-frame-link-{n}-" + "z" * len(v))[: len(v)] for n, (k, v) in enumerate(links.items())}
        marks[_TO] = "rapport-frame-recipient@frame.invalid"
        marks[_DATE] = "Rapport-frame-date-placeholder."
        marks[_MESSAGE_ID] = "<rapport-frame-message-id@frame.invalid>"
        if len(set(marks.values())) != len(marks) or any(len(marks[k]) < 16 for k in links):
            return None
        marked_headers = _with_links(headers, links, marks)
        message = email_message(
            name, to=marks[_TO], context={**context, **{k: marks[k] for k in links}}, language=language, tz=tz,
            sender_name=sender_name, headers={**marked_headers, "Date": marks[_DATE], "Message-ID": marks[_MESSAGE_ID]},
        )
        built = message.message()
        data = built.as_bytes(linesep="\r\n")
        by_mark = {v.encode("ascii"): k for k, v in marks.items()}
        pieces = re.split(b"(" + b"|".join(re.escape(m) for m in by_mark) + b")", data)
        parts = [by_mark.get(piece, piece) if n % 2 else piece for n, piece in enumerate(pieces)]
        found = {p for n, p in enumerate(parts) if n % 2}
        if found != set(marks):
            return None
        sender = sanitize_address(message.from_email, message.encoding or settings.DEFAULT_CHARSET)
        return cls(sender, parts, built.get_boundary())

    def fill(self, values):
        encoded = {k: v.encode("ascii") for k, v in values.items()}
        return b"".join(encoded[p] if n % 2 else p for n, p in enumerate(self.parts))
