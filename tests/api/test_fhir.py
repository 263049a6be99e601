"""The FHIR views validate as FHIR resources. fhir.resources 8 ships R5 (its default),
R4B and STU3 models; R4B (4.3.0) is the release closest to our R4 (4.0.1) and leaves
these five resources' structure as R4 had it, so its models are the check here.
Each model is strict: an unknown element or a wrong type fails validation."""

import pytest
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from alliance.models import CheckIn
from api.models import Scope
from tests.api.conftest import Api
from tests.factories import CheckInFactory, ClientFactory, SessionFactory

pytestmark = pytest.mark.django_db
FHIR_JSON = "application/fhir+json"


@pytest.fixture
def checkins(alice, mallory):
    client = ClientFactory(therapist=alice, external_id="EHR-9")
    session = SessionFactory(client=client)
    mine = CheckInFactory(session=session, trust=8, empathy=7, boundaries=9, collaboration=6, comment="felt rushed")
    rating = CheckInFactory(session=session, source=CheckIn.Source.THERAPIST, trust=9, empathy=9, boundaries=9, collaboration=9)
    theirs = CheckInFactory(session=SessionFactory(client=ClientFactory(therapist=mallory)))
    return mine, rating, theirs


def fhir(response, model):
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    return model.model_validate(response.json())


def test_the_capability_statement_is_public_and_valid(client):
    statement = fhir(client.get(reverse("fhir_metadata")), CapabilityStatement)
    assert statement.fhirVersion == "4.0.1"
    assert {r.type for r in statement.rest[0].resource} == {"Questionnaire", "QuestionnaireResponse", "Observation"}


def test_the_questionnaire_has_our_four_items_and_codes(api):
    questionnaire = fhir(api.get(reverse("fhir_questionnaire", args=["alliance-checkin"])), Questionnaire)
    scored = [i for i in questionnaire.item if i.type == "integer"]
    assert [i.linkId for i in scored] == ["trust", "empathy", "boundaries", "collaboration"]
    assert all(i.code[0].system.endswith("/fhir/CodeSystem/alliance-checkin") for i in scored)
    assert scored[0].text == "I could trust my therapist in this session."
    assert "not a validated instrument" in questionnaire.description


def test_a_check_in_is_a_questionnaire_response(make_key, checkins):
    mine, _, _ = checkins
    _, secret = make_key([Scope.SCORES_READ])
    response = fhir(Api(secret).get(reverse("fhir_questionnaire_response", args=[mine.pk])), QuestionnaireResponse)
    answers = {i.linkId: i.answer[0].valueInteger for i in response.item}
    assert answers == {"trust": 8, "empathy": 7, "boundaries": 9, "collaboration": 6}
    assert response.subject.identifier.value == "EHR-9"
    assert response.questionnaire.endswith("/fhir/Questionnaire/alliance-checkin")


def test_the_comment_comes_only_with_the_comments_scope(make_key, checkins):
    mine, _, _ = checkins
    _, secret = make_key([Scope.SCORES_READ, Scope.COMMENTS_READ])
    response = fhir(Api(secret).get(reverse("fhir_questionnaire_response", args=[mine.pk])), QuestionnaireResponse)
    assert [i.answer[0].valueString for i in response.item if i.linkId == "comment"] == ["felt rushed"]
    _, plain = make_key([Scope.SCORES_READ])
    assert b"felt rushed" not in Api(plain).get(reverse("fhir_questionnaire_response", args=[mine.pk])).content


def test_each_total_is_an_observation(api, checkins):
    mine, rating, _ = checkins
    client_total = fhir(api.get(reverse("fhir_observation", args=[f"{mine.pk}-total"])), Observation)
    assert (client_total.valueInteger, client_total.code.coding[0].code) == (30, "client-total")
    assert client_total.derivedFrom[0].reference == f"QuestionnaireResponse/{mine.pk}"
    therapist_total = fhir(api.get(reverse("fhir_observation", args=[f"{rating.pk}-total"])), Observation)
    assert (therapist_total.valueInteger, therapist_total.code.coding[0].code) == (36, "therapist-total")


def test_searches_are_bundles_of_the_clinics_own_resources(api, checkins):
    mine, rating, theirs = checkins
    responses = fhir(api.get(reverse("fhir_questionnaire_responses")), Bundle)
    assert [e.resource.id for e in responses.entry] == [str(mine.pk)]
    observations = fhir(api.get(reverse("fhir_observations"), {"_count": 1}), Bundle)
    assert [e.resource.id for e in observations.entry] == [f"{mine.pk}-total"]
    next_url = [link.url for link in observations.link if link.relation == "next"][0]
    second = fhir(api.get(next_url), Bundle)
    assert [e.resource.id for e in second.entry] == [f"{rating.pk}-total"]
    for entry in [*responses.entry, *observations.entry, *second.entry]:
        model = QuestionnaireResponse if entry.resource.get_resource_type() == "QuestionnaireResponse" else Observation
        model.model_validate(entry.resource.model_dump())


def test_errors_are_operation_outcomes(api, checkins):
    _, _, theirs = checkins
    for response, status in (
        (api.get(reverse("fhir_questionnaire_response", args=[theirs.pk])), 404),
        (Api().get(reverse("fhir_observations")), 401),
        (api.get(reverse("fhir_observations"), {"_lastUpdated": "yesterday"}), 400),
    ):
        assert response.status_code == status
        assert response["Content-Type"].startswith(FHIR_JSON)
        OperationOutcome.model_validate(response.json())


def test_a_key_without_scores_reads_no_fhir(make_key, checkins):
    mine, _, _ = checkins
    _, secret = make_key([Scope.CLIENTS_READ])
    response = Api(secret).get(reverse("fhir_questionnaire_response", args=[mine.pk]))
    assert response.status_code == 403
    outcome = OperationOutcome.model_validate(response.json())
    assert outcome.issue[0].code == "forbidden"
