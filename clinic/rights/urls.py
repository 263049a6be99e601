from django.urls import path

from . import views

# Mounted at /clinic/clients/ (clinic/urls.py).
urlpatterns = [
    path("", views.rights_index, name="rights_index"),
    path("<int:pk>/export.json", views.client_export_json, name="client_export_json"),
    path("<int:pk>/export-with-my-notes.json", views.client_export_with_my_notes, name="client_export_with_my_notes"),
    path("<int:pk>/erase/", views.client_erase, name="client_erase"),
]
