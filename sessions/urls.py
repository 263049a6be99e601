from django.urls import path

from . import views

# Mounted at /sessions/. Logging a new session starts from its client, so that URL,
# /clients/<id>/sessions/new/, lives in clients/urls.py and points at views.session_new.
urlpatterns = [
    path("<int:pk>/", views.session_detail, name="session_detail"),
    path("<int:pk>/edit/", views.session_edit, name="session_edit"),
]
