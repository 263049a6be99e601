"""FHIR R4 views of the check-in (/fhir/): our instrument as a Questionnaire, each
client's answer as a QuestionnaireResponse, each total as an Observation, and the
server's CapabilityStatement at /fhir/metadata."""
