from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    verbose_name = "Clinics and staff"

    def ready(self):
        from . import checks, signals  # noqa: F401


class RapportAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, whose site also requires a verified second factor."""

    default = False
    default_site = "accounts.admin_site.RapportAdminSite"
