"""Erase discharged clients whose retention period (settings.RETENTION_DAYS_AFTER_DISCHARGE)
has run out. Run daily from cron or beat; --dry-run lists what would go. The service is
clinic.rights.services.purge_expired_clients; each erasure leaves an audit row (ids and counts)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from clinic.rights.services import purge_expired_clients


class Command(BaseCommand):
    help = "Erase discharged clients past the retention period (see RETENTION_DAYS_AFTER_DISCHARGE)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List the client ids; erase nothing.")

    def handle(self, *args, dry_run=False, **options):
        ids = purge_expired_clients(dry_run=dry_run)
        days = settings.RETENTION_DAYS_AFTER_DISCHARGE
        verb = "would erase" if dry_run else "erased"
        self.stdout.write(f"Retention {days} days after discharge: {verb} {len(ids)} client(s).")
        if ids:
            self.stdout.write("Client ids: " + ", ".join(str(i) for i in ids))
