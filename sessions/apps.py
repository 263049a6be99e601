from django.apps import AppConfig


class TherapySessionsConfig(AppConfig):
    # The package is `sessions/`, but the label `sessions` belongs to
    # django.contrib.sessions; this label is fixed forever by the first migration.
    name = "sessions"
    label = "therapy_sessions"
    verbose_name = "Therapy sessions"
