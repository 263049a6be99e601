from django.urls import path

from . import views

urlpatterns = [
    path("supervision/", views.supervision_home, name="supervision_home"),
    path("supervision/therapists/<int:pk>/", views.supervision_therapist, name="supervision_therapist"),
]
