from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

# Mounted at /api/v1/ (config/urls.py). The schema and its docs are public: they
# describe the API, not any clinic's data.
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[], throttle_classes=[]), name="api_schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(
        url_name="api_schema", authentication_classes=[], permission_classes=[], throttle_classes=[]), name="api_docs"),
    path("clients/", views.ClientList.as_view(), name="api_clients"),
    path("clients/<str:external_id>/", views.ClientDetail.as_view(), name="api_client"),
    path("clients/<str:external_id>/discharge/", views.ClientDischarge.as_view(), name="api_client_discharge"),
    path("sessions/", views.SessionList.as_view(), name="api_sessions"),
    path("sessions/<int:pk>/", views.SessionDetail.as_view(), name="api_session"),
    path("checkins/", views.CheckInList.as_view(), name="api_checkins"),
    path("flags/", views.FlagList.as_view(), name="api_flags"),
    path("flags/<int:pk>/acknowledge/", views.FlagAcknowledge.as_view(), name="api_flag_acknowledge"),
    path("dashboard/", views.Dashboard.as_view(), name="api_dashboard"),
]
