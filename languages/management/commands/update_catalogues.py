"""`make messages`: re-extract every translatable string, update every catalogue, and
say exactly what each language still lacks. Run it after merging a branch that added
strings, then translate what it lists (locale/<lang>/LC_MESSAGES/django.po)."""

from django.core.management.base import BaseCommand

from languages import catalogues


class Command(BaseCommand):
    help = "Extract strings, update locale/*/django.po, and report what is missing per language."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only report; change no file.")

    def handle(self, *args, check=False, **options):
        template = catalogues.extract()
        if not check:
            catalogues.update(template=template)
            catalogues.compile()
        for result in catalogues.report(template=template):
            self.stdout.write(
                f"{result.language}: client-facing {result.percent(True):.0f}% of {result.client_total}, "
                f"staff {result.percent(False):.0f}% of {result.staff_total}"
            )
            for title, items in (("missing", result.missing), ("fuzzy", result.fuzzy), ("stale", result.stale)):
                for client_facing in (True, False):
                    wanted = [msgid for msgid, c in items if c == client_facing]
                    if not wanted or (not client_facing and result.language not in catalogues.STAFF_LANGUAGES
                                      and title != "stale"):
                        # Staff pages are translated only into STAFF_LANGUAGES: listing
                        # every staff string for French would hide what matters.
                        continue
                    where = "client" if client_facing else "staff"
                    self.stdout.write(f"  {title} ({where}, {len(wanted)}):")
                    for msgid in wanted:
                        self.stdout.write(f"    {msgid!r}")
            for error in result.errors:
                self.stdout.write(f"  error: {error}")
