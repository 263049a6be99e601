from django.urls import path

from sessions import views as session_views

from . import views

urlpatterns = [
    path("caseload/", views.caseload, name="caseload"),
    path("clients/new/", views.client_new, name="client_new"),
    path("clients/<int:pk>/", views.client_detail, name="client_detail"),
    path("clients/<int:pk>/edit/", views.client_edit, name="client_edit"),
    path("clients/<int:pk>/discharge/", views.client_discharge, name="client_discharge"),
    path("clients/<int:pk>/reactivate/", views.client_reactivate, name="client_reactivate"),
    # A session is logged from its client's page, so its URL nests under the client.
    path("clients/<int:client_pk>/sessions/new/", session_views.session_new, name="session_new"),
]
