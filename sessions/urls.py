from django.urls import path

from . import views

# Mounted at the root (config/urls.py). A session is logged from its client's page, so
# that URL nests under the client; the client app does not import this one.
urlpatterns = [
    path("clients/<int:client_pk>/sessions/new/", views.session_new, name="session_new"),
    path("clients/<int:client_pk>/sessions/book/", views.session_book, name="session_book"),
    path("sessions/<int:pk>/", views.session_detail, name="session_detail"),
    path("sessions/<int:pk>/edit/", views.session_edit, name="session_edit"),
]
