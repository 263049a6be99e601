"""The catalogues in locale/ against the code as it is now: every string a client can
read is translated into every client language, none fuzzy, none left over from wording
that has changed, and every placeholder kept. Staff pages must be complete in Spanish.
And all of it builds without GNU gettext."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from languages import catalogues

ROOT = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def reports():
    return {result.language: result for result in catalogues.report()}


def _listed(items):
    return "\n".join(f"  {msgid!r}" for msgid in items)


@pytest.mark.parametrize("language", catalogues.TRANSLATED_LANGUAGES)
def test_every_client_facing_string_is_translated(reports, language):
    result = reports[language]
    assert result.client_total > 60  # the check-in, its emails, texts and error pages
    missing = result.client(result.missing)
    assert not missing, f"{language}: client-facing strings without a translation (run `make messages`):\n" + _listed(
        missing
    )
    fuzzy = result.client(result.fuzzy)
    assert not fuzzy, f"{language}: fuzzy client-facing translations:\n" + _listed(fuzzy)


@pytest.mark.parametrize("language", catalogues.TRANSLATED_LANGUAGES)
def test_no_catalogue_keeps_a_string_the_code_no_longer_has(reports, language):
    stale = [msgid for msgid, _client in reports[language].stale]
    assert not stale, f"{language}: stale entries (run `make messages`):\n" + _listed(stale)


@pytest.mark.parametrize("language", catalogues.TRANSLATED_LANGUAGES)
def test_every_translation_keeps_its_placeholders(reports, language):
    assert reports[language].errors == []


@pytest.mark.parametrize("language", catalogues.STAFF_LANGUAGES[1:])
def test_the_staff_pages_are_complete_in_each_staff_language(reports, language):
    result = reports[language]
    missing = result.staff(result.missing) + result.staff(result.fuzzy)
    print(f"\n{language}: staff {result.percent(False):.0f}% of {result.staff_total}")
    assert not missing, f"{language}: staff strings without a translation (run `make messages`):\n" + _listed(missing)


def test_a_string_the_code_adds_is_reported_missing_until_translated(tmp_path, monkeypatch):
    """The check itself can fail: a new client-facing string shows up as missing in
    every language, and `update` adds it to the catalogue untranslated."""
    monkeypatch.setattr(catalogues, "LOCALE_DIR", tmp_path)
    for language in catalogues.TRANSLATED_LANGUAGES:
        target = catalogues.po_path(language)
        target.parent.mkdir(parents=True)
        shutil.copy(ROOT / "locale" / target.relative_to(tmp_path), target)
    template = catalogues.extract()
    template.add("A brand-new sentence for clients.", locations=[("templates/survey/thanks.html", 1)])
    catalogues.update(template=template)
    for result in catalogues.report(template=template):
        assert result.client(result.missing) == ["A brand-new sentence for clients."]
    assert 'msgid "A brand-new sentence for clients."' in catalogues.po_path("fr").read_text()


def test_the_catalogues_compile_without_gnu_gettext(tmp_path):
    """A fresh machine has Python and make, not msgfmt: compile with no gettext on PATH,
    in a copy of the catalogues, and read the result as Django does."""
    bin_dir = tmp_path / "empty-bin"
    bin_dir.mkdir()
    locale = tmp_path / "locale"
    shutil.copytree(ROOT / "locale", locale, ignore=shutil.ignore_patterns("*.mo"))
    env = {**os.environ, "PATH": str(bin_dir), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    assert shutil.which("msgfmt", path=env["PATH"]) is None
    script = (
        "import django; django.setup(); from languages import catalogues; from pathlib import Path; "
        f"catalogues.LOCALE_DIR = Path({str(locale)!r}); print(len(catalogues.compile()))"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(len(catalogues.TRANSLATED_LANGUAGES))
    import gettext

    for language in catalogues.TRANSLATED_LANGUAGES:
        mo = locale / translation.to_locale(language) / "LC_MESSAGES" / "django.mo"
        compiled = gettext.GNUTranslations(mo.open("rb"))
        assert compiled.pgettext("check-in item", "I felt heard and understood.") != "I felt heard and understood."


def test_every_app_of_ours_is_scanned_for_strings():
    """A package left off PYTHON_PACKAGES keeps its strings out of every catalogue, so
    they show in English whatever the language: each of our Django apps is scanned."""
    from django.apps import apps

    from languages.catalogues import BASE_DIR, PYTHON_PACKAGES

    ours = {
        config.name.split(".")[0] for config in apps.get_app_configs()
        if (BASE_DIR / config.name.split(".")[0]).is_dir() and not config.name.startswith("bench")
    }
    assert ours - set(PYTHON_PACKAGES) == set()
