from django.urls import path

from . import views

# Mounted at /clinic/ (clinic/urls.py).
urlpatterns = [
    path("api-keys/", views.api_keys, name="clinic_api_keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke_view, name="clinic_api_key_revoke"),
]
