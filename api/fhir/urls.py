from django.urls import path

from . import views

# Mounted at /fhir/ (config/urls.py).
urlpatterns = [
    path("metadata", views.Metadata.as_view(), name="fhir_metadata"),
    path("Questionnaire/<str:pk>", views.QuestionnaireRead.as_view(), name="fhir_questionnaire"),
    path("QuestionnaireResponse", views.QuestionnaireResponseSearch.as_view(), name="fhir_questionnaire_responses"),
    path("QuestionnaireResponse/<int:pk>", views.QuestionnaireResponseRead.as_view(), name="fhir_questionnaire_response"),
    path("Observation", views.ObservationSearch.as_view(), name="fhir_observations"),
    path("Observation/<str:pk>", views.ObservationRead.as_view(), name="fhir_observation"),
]
