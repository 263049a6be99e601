"""A small world for the cross-cutting security tests (access matrix, note marker, CSP
walk): two clinics, every role, and one of each object per caseload; plus the URL
configuration enumerated as it is when the tests run, so pages added later are covered
(and the matrix fails until they are listed in its table)."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.tokens import default_token_generator
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from alliance.checkins.invitations import new_token
from accounts.models import Supervision
from alliance.models import Flag, FlagStrategy, RepairNote, SurveyInvitation
from api.services import api_key_create
from sessions.models import SessionNote
from tests.factories import CheckInFactory, ClientFactory, ClinicFactory, SessionFactory, UserFactory
from webhooks.models import Subscription

ROLES = ("alice", "bob", "carol", "mallory", "olga", "sam", "stan", "anonymous")
THERAPISTS = {"alice", "bob", "mallory"}
ADMINS = {"carol", "olga"}
# Supervisors and whom each supervises: sam (clinic A) supervises alice, not bob;
# stan (clinic B) supervises mallory, and nobody of clinic A.
SUPERVISORS = {"sam", "stan"}
SUPERVISES = {"sam": "alice", "stan": "mallory"}
CLINIC_OF = {"alice": "A", "bob": "A", "carol": "A", "mallory": "B", "olga": "B", "sam": "A", "stan": "B"}


@dataclass
class Obj:
    """One object a URL can name: its id value, its clinic and therapist (by role name)."""

    label: str
    value: object
    clinic: str
    therapist: str | None = None
    user: str | None = None  # for staff objects: whose account it is


@dataclass
class World:
    users: dict
    clients: dict
    sessions: dict
    objects: dict = field(default_factory=dict)  # kind -> [Obj]
    marker: str = ""
    comment_marker: str = ""


def build_world(marker="MARKER-not-set", comment_marker="COMMENT-MARKER-not-set"):
    clinic_a = ClinicFactory(name="Harbour Clinic")
    clinic_b = ClinicFactory(name="Elsewhere Clinic")
    users = {
        "alice": UserFactory(email="alice@example.com", full_name="Alice Therapist", clinic=clinic_a),
        "bob": UserFactory(email="bob@example.com", full_name="Bob Therapist", clinic=clinic_a),
        "carol": UserFactory(email="carol@example.com", full_name="Carol Admin", clinic=clinic_a, role="clinic_admin"),
        "mallory": UserFactory(email="mallory@example.com", full_name="Mallory Elsewhere", clinic=clinic_b),
        "olga": UserFactory(email="olga@example.com", full_name="Olga Elsewhere-Admin", clinic=clinic_b, role="clinic_admin"),
        "sam": UserFactory(email="sam@example.com", full_name="Sam Supervisor", clinic=clinic_a, role="supervisor"),
        "stan": UserFactory(email="stan@example.com", full_name="Stan Elsewhere-Supervisor", clinic=clinic_b, role="supervisor"),
    }
    for supervisor, therapist in SUPERVISES.items():
        Supervision.objects.create(clinic=users[supervisor].clinic, supervisor=users[supervisor], therapist=users[therapist])
    for user in users.values():
        TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    clients, sessions, flags, invitations, tokens, checkins = {}, {}, {}, {}, {}, {}
    for owner in ("alice", "bob", "mallory"):
        client = ClientFactory(therapist=users[owner], display_name=f"Client of {owner}", external_id=f"EXT-{owner}")
        session = SessionFactory(client=client)
        SessionFactory(client=client, scheduled_start=timezone.now() - timedelta(days=8))
        note = SessionNote(session=session, author=users[owner])
        note.text = marker if owner == "alice" else f"note of {owner}"
        note.save()
        checkins[owner] = CheckInFactory(session=session, comment=comment_marker if owner == "alice" else f"comment for {owner}")
        CheckInFactory(session=session, source="therapist")
        token, digest = new_token()
        invitation = SurveyInvitation.objects.create(
            session=session, client=client, token_hash=digest, status=SurveyInvitation.Status.SENT,
            due_at=timezone.now() - timedelta(hours=2), sent_at=timezone.now() - timedelta(hours=1),
            expires_at=timezone.now() + timedelta(days=6), attempts=1,
        )
        flag = Flag.objects.create(client=client, kind="drop", severity=5, session=session, detail="-4")
        # An older flag, acknowledged with a strategy and a private note (as private as
        # a session note: the marker too).
        acted = Flag.objects.create(
            client=client, kind="low_alliance", severity=4, session=session, detail="30/40",
            raised_at=timezone.now() - timedelta(days=20), acknowledged_at=timezone.now() - timedelta(days=19),
            acknowledged_by=users[owner], resolved_at=timezone.now() - timedelta(days=5),
        )
        FlagStrategy.objects.create(flag=acted, strategy="invite_feedback")
        RepairNote.objects.create(flag=acted, author=users[owner], text=marker if owner == "alice" else f"repair of {owner}")
        clients[owner], sessions[owner], flags[owner], invitations[owner], tokens[owner] = (
            client, session, flag, invitation, token,
        )
    # An invited colleague who has not set a password yet (the join link is public).
    invited = UserFactory(email="newbie@example.com", clinic=clinic_a)
    invited.set_unusable_password()
    invited.save()

    # A webhook per clinic (webhooks/): the admin pages name it by id.
    subscriptions = {
        name: Subscription.objects.create(
            clinic=clinic, url=f"https://ehr-{name.lower()}.example.org/hook", events=["flag.raised"], secret=f"whsec_{name}",
        )
        for name, clinic in (("A", clinic_a), ("B", clinic_b))
    }

    def per_owner(kind, mapping, attr="pk"):
        return [
            Obj(f"{kind} of {o}", getattr(v, attr), CLINIC_OF[o], therapist=o) for o, v in mapping.items()
        ]

    objects = {
        "client": per_owner("client", clients),
        "session": per_owner("session", sessions),
        "flag": per_owner("flag", flags),
        "invitation": per_owner("invitation", invitations),
        "token": [Obj(f"token of {o}", t, CLINIC_OF[o], therapist=o) for o, t in tokens.items()],
        "therapist_user": [Obj(f"user {o}", users[o].pk, CLINIC_OF[o], user=o) for o in ("alice", "mallory")],
        "staff_user": [Obj(f"user {o}", users[o].pk, CLINIC_OF[o], user=o) for o in ("bob", "mallory")],
        # A therapist as a supervisor names them: alice and bob (clinic A), mallory (B).
        "supervisee": [Obj(f"supervisee {o}", users[o].pk, CLINIC_OF[o], therapist=o, user=o) for o in THERAPISTS],
        "supervisor_user": [Obj(f"user {o}", users[o].pk, CLINIC_OF[o], user=o) for o in ("sam", "stan")],
        "join": [Obj("join link", (urlsafe_base64_encode(force_bytes(invited.pk)), default_token_generator.make_token(invited)), "A")],
        "reset": [Obj("reset link", (urlsafe_base64_encode(force_bytes(users["bob"].pk)), default_token_generator.make_token(users["bob"])), "A")],
        "table": [Obj("table", "therapists", "A")],
        "subscription": [Obj(f"webhook of clinic {c}", s.pk, c) for c, s in subscriptions.items()],
        # The REST API and FHIR views name clients by the clinic's external id, totals
        # by "<check-in id>-total"; API keys are the clinic admin's.
        "client_external_id": per_owner("client", clients, attr="external_id"),
        "checkin": per_owner("check-in", checkins),
        "observation": [Obj(f"total of {o}", f"{c.pk}-total", CLINIC_OF[o], therapist=o) for o, c in checkins.items()],
        "questionnaire": [Obj("questionnaire", "alliance-checkin", "A")],
        "api_key": [
            Obj(f"API key of {admin}", api_key_create(clinic=users[admin].clinic, by=users[admin], name="EHR", scopes=["clients:read"])[0].pk, CLINIC_OF[admin])
            for admin in ("carol", "olga")
        ],
    }
    return World(users=users, clients=clients, sessions=sessions, objects=objects, marker=marker,
                 comment_marker=comment_marker)


# --- URL enumeration --------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or the route text when unnamed
    route: str
    params: tuple
    callback: object


def _params(pattern):
    pat = pattern.pattern
    converters = getattr(pat, "converters", None)
    if converters:
        return tuple(converters)
    regex = getattr(pat, "regex", None)
    return tuple(regex.groupindex) if regex is not None else ()


def all_routes(resolver=None, prefix="", namespace=None, inherited=()):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace
            full_ns = ":".join(n for n in (namespace, ns) if n) or None
            yield from all_routes(entry, prefix + str(entry.pattern), full_ns, inherited + _params(entry))
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            route = prefix + str(entry.pattern)
            yield Route(name or f"<unnamed> {route}", route, inherited + _params(entry), entry.callback)


def login_client(client, user):
    from tests.conftest import verified_session_login

    return verified_session_login(client, user)
