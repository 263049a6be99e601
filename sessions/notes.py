"""Encryption at rest of the clinical text people write: session notes, and the
comments clients leave on a check-in (EncryptedTextField).

Notes are encrypted with MultiFernet (AES-128-CBC + HMAC-SHA256) under the keys in
settings.NOTE_ENCRYPTION_KEYS, newest first. Encryption always uses the newest key;
decryption tries each, so a key can be rotated by prepending a new one and running
`manage.py rotate_note_keys`, then removing the old key.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver


def configured_keys():
    """The Fernet keys in settings.NOTE_ENCRYPTION_KEYS, newest first."""
    return [k.strip() for k in str(getattr(settings, "NOTE_ENCRYPTION_KEYS", "")).split(",") if k.strip()]


@lru_cache(maxsize=1)
def _fernet():
    keys = configured_keys()
    if not keys:
        raise RuntimeError("NOTE_ENCRYPTION_KEYS is empty: notes cannot be stored.")
    return MultiFernet([Fernet(k) for k in keys])


@receiver(setting_changed)
def _reset_keys(*, setting, **kwargs):
    if setting == "NOTE_ENCRYPTION_KEYS":
        _fernet.cache_clear()


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        # Never include the ciphertext or anything derived from it in the message.
        raise RuntimeError("Encrypted text could not be decrypted with the configured keys.") from exc


def rotate(token: str) -> str:
    """Re-encrypt under the newest key."""
    return _fernet().rotate(token.encode("ascii")).decode("ascii")


class EncryptedTextField(models.TextField):
    """A text column holding MultiFernet ciphertext under NOTE_ENCRYPTION_KEYS; Python
    sees the plain text. The empty string is stored as it is, so "no comment" stays
    queryable (`comment=""`); anything else cannot be searched or compared in SQL, by
    design. `manage.py rotate_note_keys` re-encrypts these columns too."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
