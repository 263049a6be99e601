"""The check-in's own wording: its four items, the ends of its scale, and the texts
(SMS) that carry it. Our own instrument and our own words (DESIGN.md, "The alliance
check-in"); never the item wording of PCOMS/SRS or the WAI-SR.

Every string goes through Django's translation machinery; a client reads it in their
own language because everything a client sees is rendered under
`translation.override(client.language)`. The catalogues are in locale/.

UNVALIDATED TRANSLATIONS: the English items are the instrument as written. Their
Spanish, French, German, Brazilian Portuguese and Arabic versions are our own
translations. None has been through forward/back translation or a validation study;
scores in those languages are not known to be comparable with English ones. The
clinic settings page says so too (templates/clinic/settings/settings.html).
"""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

DIMENSIONS = ("trust", "empathy", "boundaries", "collaboration")

QUESTIONS = {
    # Translators: an item of our own check-in, not of any published measure.
    "trust": pgettext_lazy("check-in item", "I could trust my therapist in this session."),
    # Translators: an item of our own check-in, not of any published measure.
    "empathy": pgettext_lazy("check-in item", "I felt heard and understood."),
    # Translators: an item of our own check-in, not of any published measure.
    "boundaries": pgettext_lazy("check-in item", "The session felt safe and respectful of limits."),
    # Translators: an item of our own check-in, not of any published measure.
    "collaboration": pgettext_lazy("check-in item", "We worked on what I wanted, in a way that suits me."),
}

# The ends of the 0–10 scale, shown above it and read out with 0 and 10.
SCALE_LOW = _("0 = not at all")
SCALE_HIGH = _("10 = completely")

# Text messages: the clinic's name and the link, nothing else (no clinical words).
SMS = {
    "checkin": _("%(clinic)s: a one-minute check-in is waiting for you: %(url)s Reply STOP to stop these texts."),
    "reminder": _(
        "%(clinic)s: a reminder, your one-minute check-in is still open: %(url)s Reply STOP to stop these texts."
    ),
}

CLIENT_LANGUAGES = {code for code, _name in settings.LANGUAGES}

# The languages whose check-in items are our own, unvalidated translations.
UNVALIDATED_LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]


def client_language(language):
    """The language a client is written to in: theirs if Rapport writes it, else English."""
    return language if language in CLIENT_LANGUAGES else settings.LANGUAGE_CODE


def sms_text(name, *, language, clinic, url):
    with translation.override(client_language(language)):
        return str(SMS[name]) % {"clinic": clinic, "url": url}
