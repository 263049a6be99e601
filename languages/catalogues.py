"""Rapport's message catalogues (locale/<lang>/LC_MESSAGES/django.po), handled in Python.

Django's `makemessages` and `compilemessages` need GNU gettext; a fresh machine with only
Python does not have it, nor does the Docker image. Babel does the same three jobs:

- `extract()` finds every string given to the translation machinery: Python files
  through Babel's Python extractor, templates through Django's own `templatize` (the
  very step makemessages feeds to xgettext) and then the same extractor.
- `update()` brings each catalogue in line with what was extracted: new strings
  appear untranslated, strings no longer in the code are dropped.
- `compile()` writes the .mo files Django reads (they are built, never committed).

`report()` says, per language, what is missing, fuzzy or stale, split into the
strings a client reads (CLIENT_SOURCES) and the staff pages'.
"""

import io
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract as babel_extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from django.conf import settings
from django.utils.translation import to_locale
from django.utils.translation.template import templatize

BASE_DIR = Path(settings.BASE_DIR)
LOCALE_DIR = BASE_DIR / "locale"
DOMAIN = "django"

# Every language Rapport writes to clients in; English is the source language.
CLIENT_LANGUAGES = [code for code, _name in settings.LANGUAGES]
TRANSLATED_LANGUAGES = [code for code in CLIENT_LANGUAGES if code != settings.LANGUAGE_CODE]
# The languages the staff pages are complete in (User.language, Clinic.language).
STAFF_LANGUAGES = [code for code, _name in settings.STAFF_LANGUAGES]

PYTHON_PACKAGES = [
    "accounts", "alliance", "api", "audit", "clients", "clinic", "config", "languages", "sessions", "sms", "supervision",
    "webhooks",
]
TEMPLATE_DIR = "templates"

# What a client can read: the check-in pages, their emails and texts, unsubscribe,
# thanks, and the error pages a client can meet. A string used anywhere in these is
# client-facing and must be translated into every language in settings.LANGUAGES.
CLIENT_SOURCES = [
    # The error pages a client can meet (a mistyped link, a bad request, a crash):
    # their layout is base.html, which shows an anonymous visitor no staff menu.
    "templates/base.html",
    "templates/_error.html",
    "templates/400.html",
    "templates/404.html",
    "templates/500.html",
    "templates/survey/base.html",
    "templates/survey/checkin.html",
    "templates/survey/code_entry.html",
    "templates/survey/gone.html",
    "templates/survey/rate_limited.html",
    "templates/survey/thanks.html",
    "templates/survey/unsubscribe.html",
    "templates/survey/unsubscribed.html",
    "templates/checkins/handover_thanks.html",
    "templates/partials/scale.html",
    "templates/emails/client-base.html",
    "templates/emails/checkin-",
    "templates/emails/reminder-",
    "alliance/checkins/wording.py",
    "alliance/checkins/forms.py",
]

KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
COMMENT_TAGS = ["Translators"]


def is_client_facing(locations):
    return any(path.startswith(tuple(CLIENT_SOURCES)) for path, _line in locations)


def _sources():
    for package in PYTHON_PACKAGES:
        for path in sorted((BASE_DIR / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, "python"
    for path in sorted((BASE_DIR / TEMPLATE_DIR).rglob("*")):
        if path.suffix in (".html", ".txt"):
            yield path, "template"


def extract():
    """A catalogue template (POT) of every translatable string in the code."""
    template = Catalog(project="Rapport", fuzzy=False)
    for path, kind in _sources():
        relative = path.relative_to(BASE_DIR).as_posix()
        text = path.read_text(encoding="utf-8")
        if kind == "template":
            if "i18n" not in text:
                continue
            # Each message is one literal on its line; the indentation around them
            # (kept to preserve line numbers) is not Python and would stop tokenize.
            text = "\n".join(line.lstrip() for line in templatize(text, origin=str(path)).split("\n"))
        elif "gettext" not in text and "_(" not in text:
            continue
        for lineno, message, comments, context in babel_extract(
            "python", io.BytesIO(text.encode("utf-8")), keywords=KEYWORDS, comment_tags=COMMENT_TAGS,
            strip_comment_tags=True,
        ):
            if not message or (isinstance(message, tuple) and not message[0]):
                continue
            # Babel strips the "Translators" tag but leaves its colon.
            comments = [c.lstrip(": ") for c in comments]
            template.add(message, None, [(relative, lineno)], auto_comments=comments, context=context)
    return template


def po_path(language):
    return LOCALE_DIR / to_locale(language) / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(language):
    path = po_path(language)
    if not path.exists():
        return Catalog(locale=to_locale(language), project="Rapport", fuzzy=False)
    with path.open("rb") as f:
        return read_po(f, locale=to_locale(language))


HEADER = (
    "# Rapport's catalogue for {language}. Updated by `make messages` (languages/catalogues.py);\n"
    "# translate the empty msgstr entries it lists. The check-in items (msgctxt \"check-in item\")\n"
    "# are our own translations and have not been validated."
)


def _write(catalog, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    catalog.header_comment = HEADER.format(language=catalog.locale_identifier or catalog.locale)
    catalog.version = "1"
    catalog.msgid_bugs_address = ""
    catalog.copyright_holder = "Rapport"
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=False, ignore_obsolete=True, include_previous=False)
    path.write_bytes(buffer.getvalue())


def update(languages=None, template=None):
    """Merge the code's strings into each catalogue: translations kept, new strings
    added untranslated, strings gone from the code dropped. Never guesses a
    translation from a similar string (no fuzzy matching): a wrong guess shown to a
    client is worse than English."""
    template = template or extract()
    for language in languages or TRANSLATED_LANGUAGES:
        catalog = read(language)
        # Keep the header's dates as they were, so a run that changes no string changes
        # no file (and merges do not conflict on a timestamp).
        created = catalog.creation_date
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.creation_date = created
        catalog.obsolete.clear()
        _write(catalog, po_path(language))
    return template


def compile(languages=None):
    """Write locale/<lang>/LC_MESSAGES/django.mo for each catalogue. Fuzzy entries are
    left out, as msgfmt does, so Django shows English for them."""
    written = []
    for language in languages or TRANSLATED_LANGUAGES:
        path = po_path(language)
        if not path.exists():
            continue
        catalog = read(language)
        mo = path.with_suffix(".mo")
        with mo.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        written.append(mo)
    return written


def _translated(message):
    if isinstance(message.string, (list, tuple)):
        return all(message.string)
    return bool(message.string)


@dataclass
class Completeness:
    """What one catalogue lacks, split into client-facing and staff strings."""

    language: str
    client_total: int = 0
    staff_total: int = 0
    missing: list = field(default_factory=list)  # (msgid, client_facing)
    fuzzy: list = field(default_factory=list)
    stale: list = field(default_factory=list)  # in the catalogue, no longer in the code
    errors: list = field(default_factory=list)  # placeholders that do not match

    def client(self, items):
        return [msgid for msgid, client_facing in items if client_facing]

    def staff(self, items):
        return [msgid for msgid, client_facing in items if not client_facing]

    def percent(self, client_facing):
        total = self.client_total if client_facing else self.staff_total
        lacking = len([1 for _m, c in self.missing + self.fuzzy if c == client_facing])
        return 100.0 if total == 0 else 100.0 * (total - lacking) / total


def _key(message):
    return (message.context, message.id if isinstance(message.id, str) else message.id[0])


def report(languages=None, template=None):
    """Completeness of each catalogue against the code as it is now."""
    template = template or extract()
    wanted = {_key(m): m for m in template if m.id}
    results = []
    for language in languages or TRANSLATED_LANGUAGES:
        catalog = read(language)
        have = {_key(m): m for m in catalog if m.id}
        result = Completeness(language)
        for key, source in wanted.items():
            client_facing = is_client_facing(source.locations)
            if client_facing:
                result.client_total += 1
            else:
                result.staff_total += 1
            label = key[1] if key[0] is None else f"{key[1]} [{key[0]}]"
            message = have.get(key)
            if message is None or not _translated(message):
                result.missing.append((label, client_facing))
            elif message.fuzzy:
                result.fuzzy.append((label, client_facing))
            else:
                for error in message.check(catalog):
                    result.errors.append(f"{label}: {error}")
        for key, message in have.items():
            if key not in wanted:
                result.stale.append((key[1], is_client_facing(message.locations)))
        results.append(result)
    return results
