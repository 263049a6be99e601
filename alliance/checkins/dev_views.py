"""The development outbox: the emails the embedded default wrote to var/outbox/ (Django's
file email backend), newest first, with their links clickable, so `make run` can follow
a check-in from session to answer without a mail server.

Mounted only when settings.RAPPORT_DEV_OUTBOX is set, and the view checks again, so a
production deployment answers 404 even if the URL were mounted by mistake."""

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.shortcuts import render

from accounts.access import staff_required

# The file backend writes each message followed by a line of 79 dashes.
SEPARATOR = "\n" + "-" * 79 + "\n"
LINK = re.compile(r"https?://[^\s<>\"')]+")
LIMIT = 200


@dataclass
class OutboxEmail:
    subject: str
    to: str
    at: datetime
    links: list
    text: str
    file: str


def _parse(chunk, path):
    message = email.message_from_string(chunk.strip(), policy=email.policy.default)
    if not message["Subject"] and not message["To"]:
        return None
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    try:
        at = parsedate_to_datetime(message["Date"])
    except (TypeError, ValueError):
        at = datetime.fromtimestamp(path.stat().st_mtime, tz=dt_timezone.utc)
    return OutboxEmail(
        subject=str(message["Subject"] or ""), to=str(message["To"] or ""), at=at,
        links=list(dict.fromkeys(LINK.findall(text))), text=text, file=path.name,
    )


def _parse_sms(path):
    """A text written by the file SMS backend (sms/backends/file.py)."""
    head, _, body = path.read_text(errors="replace").partition("\n\n")
    fields = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
    at = datetime.fromtimestamp(path.stat().st_mtime, tz=dt_timezone.utc)
    return OutboxEmail(
        subject="Text message", to=fields.get("To", ""), at=at,
        links=list(dict.fromkeys(LINK.findall(body))), text=body.strip(), file=path.name,
    )


def outbox_emails(folder):
    """The emails and texts in the folder, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)[:LIMIT]
    found = []
    for path in sorted(folder.glob("*.sms"), key=lambda p: p.stat().st_mtime, reverse=True)[:LIMIT]:
        text = _parse_sms(path)
        found.append(((text.at, path.stat().st_mtime_ns, 0), text))
    for path in files:
        mtime = path.stat().st_mtime_ns
        for position, chunk in enumerate(path.read_text(errors="replace").split(SEPARATOR)):
            if chunk.strip():
                parsed = _parse(chunk, path)
                if parsed:
                    # Date headers have whole seconds; the file's time breaks ties.
                    found.append(((parsed.at, mtime, position), parsed))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [email for _, email in found[:LIMIT]]


def _shown_path(folder):
    """The folder relative to the project, as a reader of the README knows it: an
    absolute path tells a visitor about the machine and nothing useful."""
    try:
        return str(Path(folder).resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return Path(folder).name


# Even in development the page lists live check-in, invitation and password-reset
# links: it is for a logged-in member of staff, never for an anonymous visitor.
@staff_required
def dev_outbox(request):
    if not getattr(settings, "RAPPORT_DEV_OUTBOX", False):
        raise Http404
    return render(request, "survey/dev_outbox.html", {
        "emails": outbox_emails(settings.EMAIL_FILE_PATH), "folder": _shown_path(settings.EMAIL_FILE_PATH),
    })
