from django.urls import path

from . import views

urlpatterns = [
    path("caseload/", views.caseload, name="caseload"),
    path("clients/new/", views.client_new, name="client_new"),
    path("clients/<int:pk>/", views.client_detail, name="client_detail"),
    path("clients/<int:pk>/edit/", views.client_edit, name="client_edit"),
    path("clients/<int:pk>/discharge/", views.client_discharge, name="client_discharge"),
    path("clients/<int:pk>/reactivate/", views.client_reactivate, name="client_reactivate"),
]
