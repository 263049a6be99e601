from django.urls import path

from . import views

urlpatterns = [
    path("", views.audit_list, name="audit_list"),
    path("lockouts/", views.lockouts, name="audit_lockouts"),
    path("lockouts/<int:pk>/unlock/", views.lockout_unlock, name="audit_lockout_unlock"),
    path("lockouts/<int:pk>/reset-2fa/", views.two_factor_reset, name="audit_two_factor_reset"),
]
