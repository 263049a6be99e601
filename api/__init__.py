"""Rapport's REST API (/api/v1/) and FHIR R4 views (/fhir/), for the clinic's other
systems: API keys, their authentication, scopes and rate limit, and the resources."""
