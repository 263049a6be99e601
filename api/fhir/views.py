"""FHIR R4 read endpoints under /fhir/, keyed like the REST API (scope scores:read;
comments:read adds the client's comment to a QuestionnaireResponse). Only
/fhir/metadata is public: the CapabilityStatement describes the server, not any data.
Every response, errors included (as OperationOutcome), is application/fhir+json."""

from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from alliance.models import CheckIn
from api import selectors
from api.models import Scope
from api.views import ERRORS, KeyedView

from . import resources

MAX_COUNT = 100
SEARCH_PARAMS = [
    OpenApiParameter("_lastUpdated", str, description="ge<instant>: resources changed at or after it."),
    OpenApiParameter("_count", int, description=f"Entries per page, at most {MAX_COUNT}."),
    OpenApiParameter("_offset", int),
]


class FhirJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir+json"


class AlwaysFhirJSON(BaseContentNegotiation):
    """FHIR JSON whatever the Accept header says (application/json clients included)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FhirView(KeyedView):
    renderer_classes = [FhirJSONRenderer]
    content_negotiation_class = AlwaysFhirJSON
    pagination_class = None
    scopes = {"GET": Scope.SCORES_READ}

    def checkins(self, *, source=None):
        checkins = selectors.checkins_for_key(self.key, with_comments=self.key.has_scope(Scope.COMMENTS_READ))
        if source:
            checkins = checkins.filter(source=source)
        return checkins

    def search(self, request, queryset, build, type_name):
        raw = request.query_params.get("_lastUpdated")
        if raw:
            moment = parse_datetime(raw[2:].replace(" ", "+")) if raw.startswith("ge") else None
            if moment is None or moment.tzinfo is None:
                raise ValidationError({"_lastUpdated": [_("Use ge<instant>, e.g. ge2026-03-01T00:00:00Z.")]})
            queryset = queryset.filter(updated_at__gte=moment)
        try:
            count = min(max(int(request.query_params.get("_count", MAX_COUNT)), 1), MAX_COUNT)
            offset = max(int(request.query_params.get("_offset", 0)), 0)
        except ValueError:
            raise ValidationError({"_count": [_("_count and _offset are whole numbers.")]}) from None
        rows = list(queryset.order_by("updated_at", "id")[offset:offset + count + 1])
        next_url = None
        if len(rows) > count:
            params = request.query_params.copy()
            params["_offset"], params["_count"] = str(offset + count), str(count)
            next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        return Response(resources.bundle(
            [build(c) for c in rows[:count]], type_name=type_name, self_url=request.build_absolute_uri(), next_url=next_url,
        ))


FHIR_RESPONSES = {200: OpenApiTypes.OBJECT, **ERRORS}


class Metadata(FhirView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(operation_id="fhir_metadata", responses={200: OpenApiTypes.OBJECT}, description="The FHIR CapabilityStatement (public).")
    def get(self, request):
        return Response(resources.capability_statement(date=timezone.localdate()))


class QuestionnaireRead(FhirView):
    @extend_schema(operation_id="fhir_questionnaire_read", responses=FHIR_RESPONSES, description="Rapport's check-in as a FHIR Questionnaire.")
    def get(self, request, pk):
        if pk != resources.QUESTIONNAIRE_ID:
            raise Http404
        return Response(resources.questionnaire())


class QuestionnaireResponseSearch(FhirView):
    @extend_schema(operation_id="fhir_questionnaire_response_search", parameters=SEARCH_PARAMS, responses=FHIR_RESPONSES, description="Clients' check-ins, a searchset Bundle.")
    def get(self, request):
        with_comment = self.key.has_scope(Scope.COMMENTS_READ)
        return self.search(
            request, self.checkins(source=CheckIn.Source.CLIENT),
            lambda c: resources.questionnaire_response(c, with_comment=with_comment), "QuestionnaireResponse",
        )


class QuestionnaireResponseRead(FhirView):
    @extend_schema(operation_id="fhir_questionnaire_response_read", responses=FHIR_RESPONSES, description="One client check-in.")
    def get(self, request, pk):
        checkin = self.checkins(source=CheckIn.Source.CLIENT).filter(pk=pk).first()
        if checkin is None:
            raise Http404
        return Response(resources.questionnaire_response(checkin, with_comment=self.key.has_scope(Scope.COMMENTS_READ)))


class ObservationSearch(FhirView):
    @extend_schema(operation_id="fhir_observation_search", parameters=SEARCH_PARAMS, responses=FHIR_RESPONSES, description="Check-in totals, a searchset Bundle.")
    def get(self, request):
        return self.search(request, self.checkins(), resources.observation, "Observation")


class ObservationRead(FhirView):
    @extend_schema(operation_id="fhir_observation_read", responses=FHIR_RESPONSES, description="One check-in's total (id `<check-in id>-total`).")
    def get(self, request, pk):
        checkin_id, _, suffix = pk.partition("-")
        checkin = self.checkins().filter(pk=int(checkin_id)).first() if checkin_id.isdigit() and suffix == "total" else None
        if checkin is None:
            raise Http404
        return Response(resources.observation(checkin))
