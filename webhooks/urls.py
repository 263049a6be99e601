from django.urls import path

from . import views

# Mounted at /clinic/webhooks/ (config/urls.py).
urlpatterns = [
    path("", views.webhook_list, name="webhook_list"),
    path("new/", views.webhook_create, name="webhook_create"),
    path("<int:pk>/deliveries/", views.webhook_deliveries, name="webhook_deliveries"),
    path("<int:pk>/test/", views.webhook_test, name="webhook_test"),
    path("<int:pk>/disable/", views.webhook_disable, name="webhook_disable"),
    path("<int:pk>/enable/", views.webhook_enable, name="webhook_enable"),
    path("<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
]
