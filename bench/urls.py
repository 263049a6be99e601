"""URLs under config.settings.bench: the whole project, plus the minimal comparison
view of the survey-submission benchmark (bench/views.py)."""

from django.urls import path

from bench import views
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/minimal/", views.minimal, name="bench_minimal"),
    *project_urlpatterns,
]
