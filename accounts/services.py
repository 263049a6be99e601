"""Writes that run the clinic: staff invitations, deactivation, reassigning a caseload,
and the clinic's survey and flag settings. Each runs in one transaction with its audit
row; emails leave only after the commit."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils import translation
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext

from audit.services import audit_record
from languages.middleware import staff_language

from .models import Clinic, Supervision, User
from .tokens import staff_invite_token_generator, staff_invite_valid_hours

# The Clinic fields a clinic admin may change on the settings page, in display order.
SURVEY_SETTINGS = ("survey_delay_hours", "reminder_after_hours", "expiry_days", "max_send_attempts")
CHANNEL_SETTINGS = ("email_checkins", "sms_checkins")
LANGUAGE_SETTINGS = ("language",)
FLAG_SETTINGS = (
    "low_total_below", "low_dimension_below", "drop_points", "declining_run", "discrepancy_points",
    "no_feedback_expired", "attendance_missed", "attendance_window",
)


def staff_invite_link(user):
    """The single-use set-password link: Django's token generator hashes the password
    and last login into the token, so setting the password spends it, and it expires
    after settings.STAFF_INVITE_TIMEOUT (accounts/tokens.py)."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = staff_invite_token_generator.make_token(user)
    return settings.SITE_URL + reverse("clinic_join", args=[uidb64, token])


def _send_staff_invite(user_id, invited_by_name):
    user = User.objects.select_related("clinic").get(pk=user_id)
    # In the language the new colleague's pages will be in: their clinic's.
    with translation.override(staff_language(user)):
        _send_staff_invite_email(user, invited_by_name)


def _send_staff_invite_email(user, invited_by_name):
    context = {
        "user": user, "clinic": user.clinic, "invited_by": invited_by_name, "link": staff_invite_link(user),
        "valid_hours": staff_invite_valid_hours(),
    }
    subject = " ".join(render_to_string("emails/staff_invite_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject, render_to_string("emails/staff_invite_body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email],
    )
    message.attach_alternative(render_to_string("emails/staff_invite_body.html", context), "text/html")
    message.send()


def _send_existing_account_notice(user_id, clinic_name, invited_by_name):
    user = User.objects.select_related("clinic").get(pk=user_id)
    context = {"user": user, "clinic_name": clinic_name, "invited_by": invited_by_name}
    with translation.override(staff_language(user)):
        EmailMultiAlternatives(
            gettext("Your invitation to %(clinic)s on Rapport") % {"clinic": clinic_name},
            render_to_string("emails/staff_invite_existing_body.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email],
        ).send()


@transaction.atomic
def staff_invite(*, clinic, email, full_name, by, role=User.Role.THERAPIST, request=None):
    """Create a therapist (or supervisor) account with no usable password and email them a link to set
    one. The email leaves after the commit, so a rolled-back invite sends nothing."""
    email = email.strip().lower()
    existing = User.objects.filter(email__iexact=email).only("id", "clinic_id").first()
    if existing is not None and existing.clinic_id == clinic.pk:
        # The admin sees their own staff list anyway: saying so here reveals nothing.
        raise ValidationError({"email": "Someone on your staff already uses this email address."})
    if existing is not None:
        # The address belongs to another clinic (or to an operator). Saying so would let
        # any clinic admin probe which addresses other clinics use, so the admin is told
        # what a genuine invitation tells them, nothing is created, and the address's
        # owner gets a notice instead of a link.
        audit_record(action="staff.invite_existing_address", actor=by, clinic=clinic, request=request)
        inviter = by.get_full_name() or by.email
        transaction.on_commit(lambda: _send_existing_account_notice(existing.pk, clinic.name, inviter))
        return None
    if role not in (User.Role.THERAPIST, User.Role.SUPERVISOR):
        raise ValidationError({"role": gettext("Invite a therapist or a supervisor.")})
    user = User(email=email, full_name=full_name.strip(), role=role, clinic=clinic, is_active=True)
    user.set_unusable_password()
    try:
        # A savepoint, so a concurrent invite of the same address (the unique index
        # wins the race) reads as a form error rather than a broken transaction.
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError({"email": "An account with this email address already exists."}) from None
    audit_record(action="staff.invite", actor=by, obj=user, clinic=clinic, request=request,
                 detail={"role": user.role})
    inviter = by.get_full_name() or by.email
    transaction.on_commit(lambda: _send_staff_invite(user.pk, inviter))
    return user


@transaction.atomic
def staff_join(*, user, password, request=None):
    """Set the invited user's password (the form has validated it). Changing the
    password invalidates the link that led here."""
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(action="staff.join", actor=user, obj=user, clinic=user.clinic, request=request)
    return user


@transaction.atomic
def user_language_set(*, user, language, request=None):
    """The language of this user's pages ("" for their clinic's)."""
    user.language = language
    user.save(update_fields=["language"])
    audit_record(
        action="user.language", actor=user, obj=user, clinic=user.clinic, detail={"language": language},
        request=request,
    )
    return user


@transaction.atomic
def staff_deactivate(*, user, by, request=None):
    """Deactivated staff cannot log in (Django's backend refuses inactive users, and any
    open session stops authenticating). Their clients stay with them until reassigned."""
    if user.pk == by.pk:
        raise ValidationError("You cannot deactivate your own account.")
    if user.clinic_id != by.clinic_id or not user.is_therapist:
        raise ValidationError("Only therapists of your clinic can be deactivated here.")
    if not user.is_active:
        return user
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(action="staff.deactivate", actor=by, obj=user, clinic=by.clinic, request=request)
    return user


@transaction.atomic
def clients_reassign(*, from_therapist, to_therapist, by, client_ids=None, request=None):
    """Move clients (all the therapist's, or the selected ones) to another active
    therapist of the same clinic, in one transaction with one audit row per client.
    Past sessions keep the therapist who held them; flags follow the client."""
    from clients.models import Client

    if to_therapist.pk == from_therapist.pk:
        raise ValidationError("Choose a different therapist to take over.")
    if (
        to_therapist.clinic_id != by.clinic_id or from_therapist.clinic_id != by.clinic_id
        or not to_therapist.is_therapist or not to_therapist.is_active
    ):
        raise ValidationError("Clients can only move to an active therapist of your clinic.")
    clients = Client.objects.select_for_update().filter(clinic_id=by.clinic_id, therapist=from_therapist)
    if client_ids is not None:
        clients = clients.filter(pk__in=client_ids)
    moved = list(clients.order_by("id"))
    if client_ids is not None and len(moved) != len(set(client_ids)):
        raise ValidationError("Some of the selected clients are not in this caseload.")
    Client.objects.filter(pk__in=[c.pk for c in moved]).update(therapist=to_therapist)
    # Flags count for the client's current therapist on the dashboard: their days move.
    from clinic.dashboards.figures import caseloads_refresh, client_days, figures_stale

    figures_stale(clinic=by.clinic, instants=[i for client in moved for i in client_days(client)])
    caseloads_refresh(clinic_id=by.clinic_id, therapist_ids=[from_therapist.pk, to_therapist.pk])
    for client in moved:
        audit_record(
            action="client.reassign", actor=by, obj=client, clinic=by.clinic, request=request,
            detail={"from_therapist_id": from_therapist.pk, "to_therapist_id": to_therapist.pk},
        )
    return moved


@transaction.atomic
def clinic_settings_update(*, clinic, changes, by, request=None):
    """Apply validated setting changes ({field: new value}). Survey timing applies to
    invitations scheduled from now on; new flag thresholds are applied to every client
    of the clinic by a background task queued on commit (alliance.flags.services.
    flags_recompute_schedule), whose progress the settings page shows: the request
    itself recomputes nothing. The audit row names each changed field with its old and
    new value (settings, not clinical data)."""
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    diff = {}
    for name, value in changes.items():
        if name not in LANGUAGE_SETTINGS + CHANNEL_SETTINGS + SURVEY_SETTINGS + FLAG_SETTINGS:
            raise ValidationError(f"{name} is not a clinic setting.")
        old = getattr(clinic, name)
        if old != value:
            diff[name] = {"old": old, "new": value}
            setattr(clinic, name, value)
    if not diff:
        return clinic, diff
    clinic.full_clean()
    clinic.save(update_fields=list(diff))
    audit_record(action="clinic.settings", actor=by, obj=clinic, clinic=clinic, request=request,
                 detail={"changed": diff})
    if {"low_total_below", "timezone"} & set(diff):
        # Every day's "low" count, or every clinic-local day, changes: rebuilt in a task.
        from clinic.dashboards.figures import figures_rebuild_soon

        figures_rebuild_soon(clinic=clinic)
    if set(diff) & set(FLAG_SETTINGS):
        from alliance.flags.services import flags_recompute_schedule

        flags_recompute_schedule(clinic=clinic, by=by)
    return clinic, diff


@transaction.atomic
def supervisees_set(*, supervisor, therapist_ids, by, request=None):
    """Make exactly these therapists (of the supervisor's own clinic, active) the
    supervisor's supervisees. Ids of anyone else are refused whole, so nothing is half
    saved. Audited with the ids only. Returns the therapists now supervised."""
    if not supervisor.is_supervisor or supervisor.clinic_id != by.clinic_id or not by.is_clinic_admin:
        raise ValidationError(gettext("Only a supervisor of your own clinic can be given supervisees."))
    wanted = set(therapist_ids)
    therapists = list(User.objects.filter(
        pk__in=wanted, clinic_id=supervisor.clinic_id, role=User.Role.THERAPIST, is_active=True,
    ))
    if len(therapists) != len(wanted):
        raise ValidationError({"therapists": gettext("Choose active therapists of your clinic.")})
    Supervision.objects.filter(supervisor=supervisor).exclude(therapist_id__in=wanted).delete()
    have = set(Supervision.objects.filter(supervisor=supervisor).values_list("therapist_id", flat=True))
    Supervision.objects.bulk_create([
        Supervision(clinic_id=supervisor.clinic_id, supervisor=supervisor, therapist=t)
        for t in therapists if t.pk not in have
    ])
    audit_record(action="staff.supervisees", actor=by, obj=supervisor, clinic=by.clinic, request=request,
                 detail={"therapists": sorted(wanted)})
    return therapists
