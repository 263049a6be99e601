from django.urls import path

from . import views

urlpatterns = [
    path("practice/", views.my_practice, name="my_practice"),
]
