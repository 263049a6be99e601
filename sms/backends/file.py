"""The embedded default: each text is written to var/outbox/ as a .sms file, beside the
emails, and listed on the development outbox page. Nothing leaves the machine."""

import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone

STATUS_ORDER = ["queued", "sent", "delivered", "undelivered", "failed"]
FAILED = {"undelivered", "failed"}


def send(provider, *, to, body, status_callback=None):
    folder = Path(settings.EMAIL_FILE_PATH)
    folder.mkdir(parents=True, exist_ok=True)
    message_id = f"FILE{uuid.uuid4().hex}"
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    (folder / f"{stamp}-{message_id}.sms").write_text(f"To: {to}\nId: {message_id}\n\n{body}\n", encoding="utf-8")
    return message_id


def verify_signature(provider, *, url, params, headers):
    # Nothing calls back to a file; refuse anything claiming to.
    return False


def parse_status(params):
    return "", "", ""


def parse_incoming(params):
    return "", ""


def empty_reply():
    return "", "text/plain"
