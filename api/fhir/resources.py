"""FHIR R4 (4.0.1) resources built from Rapport's rows, as plain JSON-ready dicts.

The codes are ours (CODE_SYSTEM), as is the instrument: Rapport's own four items, not a
validated scale's, and the Questionnaire says so. A client is named by an identifier
(the clinic's external id, or Rapport's id when there is none), never by name: Rapport
serves no Patient resource, and the clinic's EHR already knows who the id is.
"""

from django.conf import settings

from alliance.models import CheckIn

FHIR_VERSION = "4.0.1"
QUESTIONNAIRE_ID = "alliance-checkin"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 413: "too-long", 429: "throttled"}

# The four dimensions, in the client's words (DESIGN.md, "The alliance check-in").
ITEMS = (
    ("trust", "Trust", "I could trust my therapist in this session."),
    ("empathy", "Empathy", "I felt heard and understood."),
    ("boundaries", "Boundaries", "The session felt safe and respectful of limits."),
    ("collaboration", "Collaboration", "We worked on what I wanted, in a way that suits me."),
)
TOTALS = {
    CheckIn.Source.CLIENT: ("client-total", "Alliance check-in total, rated by the client (0–40)"),
    CheckIn.Source.THERAPIST: ("therapist-total", "Alliance check-in total, rated by the therapist (0–40)"),
}


def base():
    return settings.FHIR_CANONICAL_BASE.rstrip("/")


def code_system():
    return f"{base()}/CodeSystem/alliance-checkin"


def questionnaire_url():
    return f"{base()}/Questionnaire/{QUESTIONNAIRE_ID}"


def _instant(moment):
    return moment.isoformat(timespec="seconds")


def _subject(client):
    if client.external_id:
        return {"identifier": {"system": f"{base()}/clinic/{client.clinic_id}/external-id", "value": client.external_id}}
    return {"identifier": {"system": f"{base()}/client-id", "value": str(client.pk)}}


def questionnaire():
    items = [
        {
            "linkId": link_id, "code": [{"system": code_system(), "code": link_id, "display": display}],
            "text": text, "type": "integer", "required": True,
            "extension": [{"url": MIN_VALUE, "valueInteger": 0}, {"url": MAX_VALUE, "valueInteger": 10}],
        }
        for link_id, display, text in ITEMS
    ]
    items.append({"linkId": "comment", "text": "Anything else you would like to say? (optional)",
                  "type": "text", "required": False})
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "url": questionnaire_url(),
        "version": "1",
        "name": "RapportAllianceCheckIn",
        "title": "Rapport alliance check-in",
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "Rapport",
        "description": (
            "Rapport's own four-item check-in on the last session's working alliance, each item 0 (not at all) "
            "to 10 (completely), total 0–40. Written by Rapport; not a validated instrument."
        ),
        "code": [{"system": code_system(), "code": "alliance-checkin", "display": "Alliance check-in"}],
        "item": items,
    }


def questionnaire_response(checkin, *, with_comment):
    items = [{"linkId": link_id, "answer": [{"valueInteger": getattr(checkin, link_id)}]} for link_id, _, _ in ITEMS]
    if with_comment and checkin.comment:
        items.append({"linkId": "comment", "answer": [{"valueString": checkin.comment}]})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(checkin.pk),
        "meta": {"lastUpdated": _instant(checkin.updated_at)},
        "identifier": {"system": f"{base()}/checkin", "value": str(checkin.pk)},
        "questionnaire": questionnaire_url(),
        "status": "completed",
        "subject": _subject(checkin.client),
        "authored": _instant(checkin.submitted_at),
        "item": items,
    }


def observation(checkin):
    code, display = TOTALS[checkin.source]
    resource = {
        "resourceType": "Observation",
        "id": f"{checkin.pk}-total",
        "meta": {"lastUpdated": _instant(checkin.updated_at)},
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {"coding": [{"system": code_system(), "code": code, "display": display}]},
        "subject": _subject(checkin.client),
        "effectiveDateTime": _instant(checkin.session.scheduled_start),
        "issued": _instant(checkin.submitted_at),
        "valueInteger": checkin.total,
    }
    if checkin.source == CheckIn.Source.CLIENT:
        resource["derivedFrom"] = [{"reference": f"QuestionnaireResponse/{checkin.pk}"}]
    return resource


def bundle(resources, *, type_name, self_url, next_url=None, total=None):
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    result = {
        "resourceType": "Bundle", "type": "searchset", "link": links,
        "entry": [
            {"fullUrl": f"{base()}/{type_name}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in resources
        ],
    }
    if total is not None:
        result["total"] = total
    return result


def capability_statement(*, date):
    searchable = [{"name": "_lastUpdated", "type": "date", "documentation": "ge<instant>: changed at or after."},
                  {"name": "_count", "type": "number"}]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date.isoformat(),
        "publisher": "Rapport",
        "kind": "instance",
        "software": {"name": "Rapport"},
        "implementation": {"description": "Rapport's alliance check-ins", "url": base()},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "security": {"description": "Send a clinic's API key as “Authorization: Bearer <key>”; "
                                        "the key needs the scores:read scope (comments:read for comments)."},
            "resource": [
                {"type": "Questionnaire", "interaction": [{"code": "read"}]},
                {"type": "QuestionnaireResponse", "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": searchable},
                {"type": "Observation", "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": searchable},
            ],
        }],
    }


def operation_outcome(*, code, message, status):
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": ISSUE_CODES.get(status, "processing"), "diagnostics": str(message),
                   "details": {"text": code}}],
    }
