"""Recompute every client's flags, e.g. after a clinic changed its thresholds.

    manage.py recompute_flags               # every client of every clinic
    manage.py recompute_flags --clinic 3    # one clinic's clients
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Clinic
from alliance.flags.rules import flags_recompute_for_client
from clients.models import Client


class Command(BaseCommand):
    help = "Raise and clear flags for all clients (or one clinic's) under the current thresholds."

    def add_arguments(self, parser):
        parser.add_argument("--clinic", type=int, help="Only this clinic's clients (clinic id).")

    def handle(self, *args, clinic=None, **options):
        clients = Client.objects.order_by("id")
        if clinic is not None:
            if not Clinic.objects.filter(pk=clinic).exists():
                raise CommandError(f"No clinic with id {clinic}.")
            clients = clients.filter(clinic_id=clinic)
        raised = resolved = count = 0
        # One transaction per client: a long run never holds locks on the whole clinic.
        for client in clients.iterator():
            r, s = flags_recompute_for_client(client=client)
            raised += len(r)
            resolved += len(s)
            count += 1
        self.stdout.write(f"Recomputed flags for {count} clients: {raised} raised, {resolved} resolved.")
