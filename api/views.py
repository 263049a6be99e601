"""The REST API, /api/v1/. Thin views: find the record inside the key's clinic
(api/selectors.py), validate (api/serializers.py), call the same service the browser
uses. Each request writes one audit row naming the key and the admin who made it."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from alliance.flags.services import flag_acknowledge
from audit.services import audit_record
from clients.services import FIELDS as CLIENT_FIELDS
from clients.services import client_create, client_discharge, client_update
from clinic.dashboards.forms import DashboardFilterForm
from clinic.dashboards.selectors import clinic_dashboard, therapists_in_clinic
from sessions.services import session_log, session_update

from . import selectors
from .errors import Conflict, PayloadTooLarge
from .models import Scope
from .serializers import (
    CheckInSerializer, CheckInWithCommentSerializer, ClientSerializer, DashboardSerializer, ErrorSerializer,
    FlagAcknowledgeSerializer, FlagSerializer, SessionSerializer,
)

ERRORS = {
    code: OpenApiResponse(ErrorSerializer, description=text)
    for code, text in {
        400: "Malformed JSON, an unknown field or a value that is not valid.",
        401: "No API key, an unknown one, or a revoked one.",
        403: "The key lacks this endpoint's scope.",
        404: "No such record in your clinic.",
        413: "The body is larger than the limit.",
        429: "Too many requests for this key: wait Retry-After seconds.",
    }.items()
}
UPDATED_SINCE = OpenApiParameter(
    "updated_since", OpenApiTypes.DATETIME, description="Only records changed at or after this instant (ISO 8601)."
)


class UpdatedCursor(CursorPagination):
    """Oldest change first, so a sync job keeps the last `updated_at` it saw and asks
    for `updated_since` it next time; `next` walks a long list without offsets."""

    ordering = ("updated_at", "id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class KeyedView(generics.GenericAPIView):
    """What every API view shares: the body-size limit and the per-request audit row."""

    pagination_class = UpdatedCursor
    scopes = {}

    @property
    def key(self):
        return self.request.auth

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.API_MAX_BODY_BYTES:
            raise PayloadTooLarge(
                _("The request body is larger than %(limit)d bytes.") % {"limit": settings.API_MAX_BODY_BYTES}
            )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        key = getattr(request._request, "api_key", None)
        if key is not None:
            match = request._request.resolver_match
            audit_record(
                action="api.request", actor=key.created_by, clinic=key.clinic, request=request,
                object_type="apikey", object_id=key.pk,
                detail={
                    "method": request.method, "endpoint": match.url_name if match else "",
                    "ids": {k: str(v) for k, v in kwargs.items()}, "status": response.status_code,
                },
            )
        return response

    def updated_since(self, queryset):
        raw = self.request.query_params.get("updated_since")
        if raw is None:
            return queryset
        moment = parse_datetime(raw.replace(" ", "+"))
        if moment is None or moment.tzinfo is None:
            raise ValidationError({"updated_since": [_("Give an ISO 8601 time with its UTC offset.")]})
        return queryset.filter(updated_at__gte=moment)

    def paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


# --- Clients ---------------------------------------------------------------------------


class ClientList(KeyedView):
    scopes = {"GET": Scope.CLIENTS_READ, "POST": Scope.CLIENTS_WRITE}
    serializer_class = ClientSerializer

    @extend_schema(parameters=[UPDATED_SINCE], responses={200: ClientSerializer(many=True), **ERRORS})
    def get(self, request):
        return self.paginated(self.updated_since(selectors.clients_for_key(self.key)), ClientSerializer)

    @extend_schema(request=ClientSerializer, responses={201: ClientSerializer, 409: ErrorSerializer, **ERRORS})
    def post(self, request):
        serializer = ClientSerializer(data=request.data, therapists=selectors.therapists_for_key(self.key))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        therapist, external_id = data.pop("therapist_id"), data.pop("external_id")
        data.setdefault("email", "")
        data.setdefault("phone", "")
        taken = _("A client with this external id already exists in your clinic.")
        if selectors.clients_for_key(self.key).filter(external_id=external_id).exists():
            raise Conflict({"external_id": [taken]})
        try:
            client = client_create(therapist=therapist, data=data, external_id=external_id, by=request.user, request=request)
        except IntegrityError:
            # The same id, created by a concurrent request a moment earlier.
            raise Conflict({"external_id": [taken]}) from None
        return Response(ClientSerializer(client).data, status=status.HTTP_201_CREATED)


class ClientDetail(KeyedView):
    scopes = {"GET": Scope.CLIENTS_READ, "PATCH": Scope.CLIENTS_WRITE}
    serializer_class = ClientSerializer
    lookup_field = "external_id"

    @extend_schema(responses={200: ClientSerializer, **ERRORS})
    def get(self, request, external_id):
        return Response(ClientSerializer(selectors.client_for_key(self.key, external_id)).data)

    @extend_schema(request=ClientSerializer(partial=True), responses={200: ClientSerializer, **ERRORS})
    def patch(self, request, external_id):
        client = selectors.client_for_key(self.key, external_id)
        serializer = ClientSerializer(client, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = {f: getattr(client, f) for f in CLIENT_FIELDS}
        data.update(serializer.validated_data)
        client = client_update(client=client, by=request.user, data=data, request=request)
        return Response(ClientSerializer(client).data)


class ClientDischarge(KeyedView):
    scopes = {"POST": Scope.CLIENTS_WRITE}
    serializer_class = ClientSerializer

    @extend_schema(request=None, responses={200: ClientSerializer, **ERRORS})
    def post(self, request, external_id):
        client = selectors.client_for_key(self.key, external_id)
        client = client_discharge(client=client, by=request.user, request=request)
        return Response(ClientSerializer(client).data)


# --- Sessions --------------------------------------------------------------------------


class SessionList(KeyedView):
    scopes = {"GET": Scope.SESSIONS_READ, "POST": Scope.SESSIONS_WRITE}
    serializer_class = SessionSerializer

    @extend_schema(
        parameters=[UPDATED_SINCE, OpenApiParameter("client_external_id", str), OpenApiParameter("external_id", str)],
        responses={200: SessionSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        sessions = self.updated_since(selectors.sessions_for_key(self.key))
        if "client_external_id" in request.query_params:
            sessions = sessions.filter(client__external_id=request.query_params["client_external_id"])
        if "external_id" in request.query_params:
            sessions = sessions.filter(external_id=request.query_params["external_id"])
        return self.paginated(sessions, SessionSerializer)

    @extend_schema(request=SessionSerializer, responses={201: SessionSerializer, 409: ErrorSerializer, **ERRORS})
    def post(self, request):
        serializer = SessionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        client = selectors.clients_for_key(self.key).select_related("clinic").filter(
            external_id=data["client"]["external_id"]
        ).first()
        if client is None:
            raise ValidationError({"client_external_id": [_("No client with this external id in your clinic.")]})
        if not client.is_active:
            raise Conflict(_("This client is discharged: reactivate them before logging a session."))
        external_id = data.get("external_id", "")
        taken = _("This client already has a session with this external id.")
        if external_id and client.sessions.filter(external_id=external_id).exists():
            raise Conflict({"external_id": [taken]})
        # The browser form's own service: the check-in is scheduled exactly as for a
        # session logged by hand (sessions/services.py).
        try:
            session = session_log(
                therapist=client.therapist, client=client, scheduled_start=data["scheduled_start"],
                duration_minutes=data["duration_minutes"], attendance=data["attendance"], format=data["format"],
                external_id=external_id, by=request.user, request=request,
            )
        except IntegrityError:
            # The same appointment, logged by a concurrent retry a moment earlier.
            raise Conflict({"external_id": [taken]}) from None
        session = selectors.sessions_for_key(self.key).get(pk=session.pk)
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)


class SessionDetail(KeyedView):
    scopes = {"GET": Scope.SESSIONS_READ, "PATCH": Scope.SESSIONS_WRITE}
    serializer_class = SessionSerializer

    @extend_schema(responses={200: SessionSerializer, **ERRORS})
    def get(self, request, pk):
        return Response(SessionSerializer(selectors.session_for_key(self.key, pk)).data)

    @extend_schema(request=SessionSerializer(partial=True), responses={200: SessionSerializer, **ERRORS})
    def patch(self, request, pk):
        session = selectors.session_for_key(self.key, pk)
        serializer = SessionSerializer(session, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        new = {f: getattr(session, f) for f in ("scheduled_start", "duration_minutes", "attendance", "format")}
        new.update(serializer.validated_data)
        # note=None: the note is never touched (nor read) through the API.
        session_update(session=session, by=request.user, note=None, rating=None, request=request, **new)
        return Response(SessionSerializer(selectors.session_for_key(self.key, pk)).data)


# --- Check-ins ------------------------------------------------------------------------


class CheckInList(KeyedView):
    scopes = {"GET": Scope.SCORES_READ}
    serializer_class = CheckInSerializer

    def _serializer_class(self):
        return CheckInWithCommentSerializer if self.key.has_scope(Scope.COMMENTS_READ) else CheckInSerializer

    @extend_schema(
        parameters=[UPDATED_SINCE, OpenApiParameter("client_external_id", str), OpenApiParameter("session", int)],
        responses={200: CheckInWithCommentSerializer(many=True), **ERRORS},
        description="Scores, channel and times; `comment` only for a key with the comments:read scope.",
    )
    def get(self, request):
        checkins = self.updated_since(
            selectors.checkins_for_key(self.key, with_comments=self.key.has_scope(Scope.COMMENTS_READ))
        )
        if "client_external_id" in request.query_params:
            checkins = checkins.filter(client__external_id=request.query_params["client_external_id"])
        if "session" in request.query_params:
            try:
                checkins = checkins.filter(session_id=int(request.query_params["session"]))
            except ValueError:
                raise ValidationError({"session": [_("A session id is a whole number.")]}) from None
        return self.paginated(checkins, self._serializer_class())


# --- Flags ------------------------------------------------------------------------------


class FlagList(KeyedView):
    scopes = {"GET": Scope.FLAGS_READ}
    serializer_class = FlagSerializer

    @extend_schema(
        parameters=[UPDATED_SINCE, OpenApiParameter("open", bool, description="Only flags not yet resolved.")],
        responses={200: FlagSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        flags = self.updated_since(selectors.flags_for_key(self.key))
        if request.query_params.get("open") in ("true", "1"):
            flags = flags.filter(resolved_at__isnull=True)
        return self.paginated(flags, FlagSerializer)


class FlagAcknowledge(KeyedView):
    scopes = {"POST": Scope.FLAGS_WRITE}
    serializer_class = FlagAcknowledgeSerializer

    @extend_schema(request=FlagAcknowledgeSerializer, responses={200: FlagSerializer, 409: ErrorSerializer, **ERRORS})
    def post(self, request, pk):
        flag = selectors.flag_for_key(self.key, pk)
        serializer = FlagAcknowledgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if flag.acknowledged_at is not None or flag.resolved_at is not None:
            raise Conflict(_("This flag was already acknowledged or has cleared."))
        try:
            # Acknowledged in the name of the client's therapist, as the browser's button
            # does; the audit row also names the key and its admin.
            flag = flag_acknowledge(
                flag=flag, by=flag.client.therapist, strategies=serializer.validated_data["strategies"],
                request=request,
            )
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise ValidationError(exc.message_dict) from None
            raise Conflict(" ".join(exc.messages)) from None
        return Response(FlagSerializer(flag).data)


# --- Dashboard -----------------------------------------------------------------------------


class Dashboard(KeyedView):
    scopes = {"GET": Scope.DASHBOARD_READ}
    serializer_class = DashboardSerializer
    pagination_class = None

    @extend_schema(
        parameters=[
            OpenApiParameter("date_from", OpenApiTypes.DATE), OpenApiParameter("date_to", OpenApiTypes.DATE),
            OpenApiParameter("period", str, enum=["week", "month"]), OpenApiParameter("therapist", int),
            OpenApiParameter("modality", str),
        ],
        responses={200: DashboardSerializer, **ERRORS},
        description="The clinic dashboard's figures for a period (the same as /clinic/dashboard/).",
    )
    def get(self, request):
        clinic = self.key.clinic
        form = DashboardFilterForm(request.query_params, clinic=clinic)
        choices = list(therapists_in_clinic(clinic).values_list("id", "full_name"))
        if not form.is_valid() or not form.check_therapist(choices):
            raise ValidationError(form.errors.get_json_data() and {
                k: [e["message"] for e in v] for k, v in form.errors.get_json_data().items()
            })
        return Response(DashboardSerializer(clinic_dashboard(form.filters())).data)
