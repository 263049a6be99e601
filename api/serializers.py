"""What the API reads and writes. Writes are strict: an unknown or read-only field is
refused by name (a typo must not be silently dropped), and every rule the browser's
form applies is applied here too before the same service runs."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from alliance.models import SCORE_FIELDS, CheckIn, Flag, RepairStrategy, SurveyInvitation
from clients.models import Client
from sessions.forms import MAX_AHEAD, MAX_BACK
from sessions.models import Session

EXTERNAL_ID = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$"
EXTERNAL_ID_HELP = _("The clinic's own id for the client: letters, digits and . _ : - (at most 64).")


class StrictSerializer(serializers.Serializer):
    """Refuses a body that is not an object, and any field it does not accept."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        writable = {name for name, f in self.fields.items() if not f.read_only}
        unknown = sorted(set(data) - writable)
        if unknown:
            raise serializers.ValidationError({
                name: [_("This field is read-only.") if name in self.fields else _("Unknown field.")]
                for name in unknown
            })
        return super().to_internal_value(data)


# --- Clients ----------------------------------------------------------------------------


class ClientSerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    external_id = serializers.RegexField(EXTERNAL_ID, help_text=EXTERNAL_ID_HELP)
    therapist = serializers.IntegerField(
        source="therapist_id", help_text=_("The id of the client's therapist, a therapist of your clinic.")
    )
    display_name = serializers.CharField(max_length=100)
    email = serializers.EmailField(required=False, allow_blank=True)
    survey_consent = serializers.BooleanField(required=False, default=False)
    phone = PhoneNumberField(required=False, allow_blank=True)
    sms_consent = serializers.BooleanField(required=False, default=False)
    language = serializers.ChoiceField(Client.Language.choices, required=False, default=Client.Language.ENGLISH)
    modality = serializers.ChoiceField(Client.Modality.choices)
    relationship_approach = serializers.ChoiceField(Client.Approach.choices)
    status = serializers.CharField(read_only=True)
    discharged_at = serializers.DateTimeField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def __init__(self, *args, therapists=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.therapists = therapists
        if self.instance is not None and self.partial:
            # Who the client is and whose caseload they are in change elsewhere
            # (a new record; the clinic admin's reassignment page).
            for name in ("external_id", "therapist"):
                self.fields[name].read_only = True

    def to_representation(self, client):
        data = super().to_representation(client)
        data["phone"] = str(client.phone) if client.phone else ""
        return data

    def validate_display_name(self, value):
        name = " ".join(value.split())
        if not name:
            raise serializers.ValidationError(_("Enter a name or initials."))
        return name

    def validate_therapist(self, value):
        therapist = self.therapists.filter(pk=value).first() if self.therapists is not None else None
        if therapist is None:
            raise serializers.ValidationError(_("No active therapist with this id in your clinic."))
        return therapist

    def validate_email(self, value):
        return value.strip().lower()

    def validate(self, data):
        merged = {**self._current(), **data}
        if merged.get("sms_consent") and not merged.get("phone"):
            raise serializers.ValidationError(
                {"phone": [_("Enter the number the client agreed to be texted at, or untick their consent.")]}
            )
        return data

    def _current(self):
        if self.instance is None:
            return {}
        return {f: getattr(self.instance, f) for f in ("phone", "sms_consent")}


# --- Sessions ---------------------------------------------------------------------------


class InvitationSerializer(serializers.Serializer):
    status = serializers.ChoiceField(SurveyInvitation.Status.choices)
    due_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class SessionSerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    client_external_id = serializers.RegexField(EXTERNAL_ID, source="client.external_id", help_text=EXTERNAL_ID_HELP)
    external_id = serializers.RegexField(
        EXTERNAL_ID, required=False,
        help_text=_("The clinic's own id for the appointment (optional; unique per client): a retried request "
                    "with the same id answers 409 instead of logging the session twice."),
    )
    therapist = serializers.IntegerField(read_only=True, source="therapist_id")
    scheduled_start = serializers.DateTimeField(help_text=_("ISO 8601 with its UTC offset."))
    duration_minutes = serializers.IntegerField(min_value=5, max_value=480, required=False, default=50)
    attendance = serializers.ChoiceField(Session.Attendance.choices)
    format = serializers.ChoiceField(Session.Format.choices, required=False, default=Session.Format.IN_PERSON)
    checkin_invitation = serializers.SerializerMethodField(
        help_text=_("The client's check-in for this session, once one is scheduled.")
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None and self.partial:
            self.fields["client_external_id"].read_only = True
            self.fields["external_id"].read_only = True

    def get_checkin_invitation(self, session) -> InvitationSerializer(allow_null=True):
        try:
            invitation = session.invitation
        except SurveyInvitation.DoesNotExist:
            invitation = None
        return InvitationSerializer(invitation).data if invitation is not None else None

    def validate_scheduled_start(self, value):
        raw = str(self.initial_data.get("scheduled_start", ""))
        if not (raw.endswith("Z") or "+" in raw[10:] or "-" in raw[10:]):
            raise serializers.ValidationError(_("Give the time with its UTC offset, e.g. 2026-03-02T14:30:00+01:00."))
        now = timezone.now()
        if value > now + MAX_AHEAD:
            raise serializers.ValidationError(_("A session can be at most one year in the future."))
        if value < now - MAX_BACK:
            raise serializers.ValidationError(_("A session can be at most ten years in the past."))
        return value

    def validate(self, data):
        current = {}
        if self.instance is not None:
            current = {"scheduled_start": self.instance.scheduled_start, "attendance": self.instance.attendance}
        merged = {**current, **data}
        start, attendance = merged.get("scheduled_start"), merged.get("attendance")
        # The browser form's rule (sessions/forms.py): only what can be known.
        if start is not None and attendance:
            now = timezone.now()
            if start > now and attendance not in Session.BEFORE_START:
                raise serializers.ValidationError({"attendance": [
                    _("This session has not started yet, so it can only be booked or cancelled.")
                ]})
            if start <= now and attendance == Session.Attendance.BOOKED:
                raise serializers.ValidationError({"attendance": [
                    _("This session has already started: record whether the client came instead of booked.")
                ]})
        return data


# --- Check-ins, flags --------------------------------------------------------------------


class CheckInSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    session = serializers.IntegerField(source="session_id")
    client_external_id = serializers.CharField(source="client.external_id")
    source = serializers.ChoiceField(CheckIn.Source.choices)
    channel = serializers.CharField(help_text=_("How a client's answer came back; empty for the therapist's own."))
    trust = serializers.IntegerField(min_value=0, max_value=10)
    empathy = serializers.IntegerField(min_value=0, max_value=10)
    boundaries = serializers.IntegerField(min_value=0, max_value=10)
    collaboration = serializers.IntegerField(min_value=0, max_value=10)
    total = serializers.IntegerField(min_value=0, max_value=40)
    submitted_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CheckInWithCommentSerializer(CheckInSerializer):
    comment = serializers.CharField(help_text=_("The client's own words (scope comments:read)."))


assert set(SCORE_FIELDS) <= set(CheckInSerializer._declared_fields)


class FlagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client_external_id = serializers.CharField(source="client.external_id")
    kind = serializers.ChoiceField(Flag.Kind.choices)
    severity = serializers.IntegerField()
    session = serializers.IntegerField(source="session_id", allow_null=True)
    detail = serializers.CharField(help_text=_("Why it fired, in numbers only."))
    raised_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    strategies = serializers.SerializerMethodField(
        help_text=_("What the therapist did about it: repair strategy codes, never free text.")
    )
    response = serializers.CharField(help_text=_("What was recorded before repair strategies existed (older flags)."))
    resolved_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    def get_strategies(self, flag) -> list[str]:
        return [s.strategy for s in flag.strategies.all()]


class FlagAcknowledgeSerializer(StrictSerializer):
    """The repair strategies the therapist used (among those the flag's kind offers).
    The private note a therapist may add in Rapport is theirs alone, so no API key can
    write one; "something else" on its own needs that note, and is refused here."""

    strategies = serializers.ListField(child=serializers.ChoiceField(RepairStrategy.choices), min_length=1)

    def validate_strategies(self, value):
        if set(value) == {RepairStrategy.OTHER}:
            raise serializers.ValidationError(
                _("“Something else” needs the therapist's own note, which only they can write in Rapport.")
            )
        return value


# --- Dashboard ---------------------------------------------------------------------------


class DashboardRowSerializer(serializers.Serializer):
    therapist = serializers.IntegerField(source="id", allow_null=True)
    caseload = serializers.IntegerField()
    attended = serializers.IntegerField()
    missed = serializers.IntegerField()
    checkins = serializers.IntegerField()
    flagged_clients = serializers.IntegerField()
    attendance_rate = serializers.FloatField(allow_null=True)
    response_rate = serializers.FloatField(allow_null=True)
    mean_total = serializers.FloatField(allow_null=True)


class DashboardPeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    checkins = serializers.IntegerField()
    mean_total = serializers.FloatField(allow_null=True)
    response_rate = serializers.FloatField(allow_null=True)
    flags_raised = serializers.IntegerField()
    flags_resolved = serializers.IntegerField()


class DashboardSerializer(serializers.Serializer):
    date_from = serializers.DateField(source="filters.date_from")
    date_to = serializers.DateField(source="filters.date_to")
    period = serializers.CharField(source="filters.period")
    totals = DashboardRowSerializer()
    therapists = DashboardRowSerializer(many=True)
    periods = DashboardPeriodSerializer(many=True)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ErrorSerializer(serializers.Serializer):
    """Every 4xx (api/errors.py)."""

    error = ErrorDetailSerializer()
