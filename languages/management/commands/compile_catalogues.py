"""Compile locale/*/LC_MESSAGES/django.po to .mo in Python: no GNU gettext needed.
`make install`, `make run`, `make test` and the Docker image run it."""

from django.core.management.base import BaseCommand

from languages import catalogues


class Command(BaseCommand):
    help = "Compile the message catalogues (.po to .mo) without GNU gettext."

    def handle(self, *args, **options):
        written = catalogues.compile()
        self.stdout.write(f"Compiled {len(written)} catalogues.")
