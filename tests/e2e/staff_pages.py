"""Every page staff meet, with who meets it: one list for the browser tests at desktop
width (tests/e2e/test_accessibility.py) and at phone width (tests/e2e/test_phone_width.py),
and the data that gives each page something in every column.

A page is reached as a person would reach it: logged in as the role that sees it (one
login per role and test, since a second-factor code works once), then its URL, then, for
pages shown only in answer to a form, the button that sends it. Pages are visited in
list order within a role, so the ones that change what follows (the hand-over locks the
device) come last."""

import re
from dataclasses import dataclass, field
from datetime import timedelta

from axes.models import AccessAttempt
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.tokens import staff_invite_token_generator
from alliance.flags.rules import flags_recompute_for_client
from accounts.models import Supervision
from alliance.models import CheckIn, Flag, FlagStrategy, SurveyInvitation
from api.models import Scope
from api.services import api_key_create, api_key_revoke, api_key_touch
from sessions.models import Session
from tests.alliance.conftest import log_session, send_inline, token_of
from tests.alliance.history import checkin, history, invitation, note, session_on
from tests.e2e.conftest import current_totp_code, log_in_with_second_factor
from tests.factories import ClientFactory, SessionFactory, UserFactory

S = SurveyInvitation.Status

THERAPIST = "therapist"  # alice, with a populated caseload
ADMIN = "clinic admin"  # carol
NEW_STAFF = "new staff"  # dave: password accepted, no authenticator yet
SUPERVISOR = "supervisor"  # sam, supervising alice
ANYONE = "not logged in"
ROLES = (THERAPIST, ADMIN, SUPERVISOR, NEW_STAFF, ANYONE)

# The menu button of a logged-in page on a narrow screen (base.html's navbar collapses).
MENU = 'role=button[name="Toggle navigation"]'


@dataclass(frozen=True)
class StaffPage:
    """name: how the page is reported; who: the role that sees it; path: its URL, with
    {placeholders} from seed_staff_pages(); press: a button to press there, for a page
    shown in answer to a POST; fill: label -> value (or placeholder) typed before
    pressing; key: what a user must be able to see and reach on it: Playwright
    selectors, or "column:<header>" for every cell under that column header."""

    name: str
    who: str
    path: str
    press: str = ""
    fill: dict = field(default_factory=dict)
    key: tuple = ()


STAFF_PAGES = (
    # --- A therapist, between sessions ---------------------------------------------------
    StaffPage("caseload", THERAPIST, "/caseload/", key=(
        MENU, 'role=link[name="Add a client"]', 'role=button[name="Filter"]',
        "column:Client-rated", "column:Therapist-rated", "column:Open flags", "column:Last check-in",
    )),
    StaffPage("client-page", THERAPIST, "/clients/{client}/", key=(
        'role=link[name="Log a session"]', 'role=link[name="Discharge…"]', 'role=button[name="Acknowledge"]',
        "column:Check-in", "column:Client-rated", "column:Therapist-rated",
    )),
    StaffPage("client-page-missed-checkins", THERAPIST, "/clients/{missed_client}/", key=(
        'role=button[name="Send the check-in again"]', "column:Attendance", "column:Check-in",
    )),
    StaffPage("client-page-new-client", THERAPIST, "/clients/{new_client}/", key=('role=link[name="Log a session"]',)),
    StaffPage("needs-attention", THERAPIST, "/attention/", key=(
        "column:Open flags", 'role=link[name="R.S."]',
    )),
    StaffPage("session-detail", THERAPIST, "/sessions/{rated_session}/", key=(
        'role=link[name="Edit session"]', "column:Client", "column:Therapist",
    )),
    StaffPage("session-detail-check-in-now", THERAPIST, "/sessions/{unrated_session}/", key=(
        'role=button[name="On the client\'s phone (QR code)"]', 'role=button[name="Hand this device to the client"]',
    )),
    StaffPage("my-practice", THERAPIST, "/practice/", key=(
        "column:Mean difference", "column:Agreement", "column:What the numbers say",
    )),
    StaffPage("client-form", THERAPIST, "/clients/new/", key=('role=button[name="Add client"]',)),
    StaffPage("client-edit", THERAPIST, "/clients/{client}/edit/"),
    StaffPage("session-form", THERAPIST, "/clients/{client}/sessions/new/", key=('role=button[name="Save session"]',)),
    StaffPage("session-edit", THERAPIST, "/sessions/{rated_session}/edit/"),
    StaffPage("discharge-confirm", THERAPIST, "/clients/{client}/discharge/", key=('role=button[name="Discharge J.D."]',)),
    StaffPage("in-session-qr", THERAPIST, "/sessions/{unrated_session}/", press="On the client's phone (QR code)", key=(
        ".checkin-qr svg", '[data-testid="short-code"]', 'role=link[name="Back to the session"]',
    )),
    StaffPage("account-language", THERAPIST, "/accounts/language/", key=(
        'role=combobox[name="Language of your pages"]', 'role=button[name="Save"]',
    )),
    # Last: handing the device over locks it to the check-in until the password.
    StaffPage("hand-over", THERAPIST, "/sessions/{handover_session}/", press="Hand this device to the client"),
    StaffPage("hand-over-unlock", THERAPIST, "/hand-over/unlock/", key=('role=button[name="Unlock"]',)),
    # --- A clinic admin ------------------------------------------------------------------
    StaffPage("clinic-dashboard", ADMIN, "/clinic/dashboard/", key=(
        MENU, 'role=button[name="Apply"]', "column:Active caseload", "column:Clients with open flags",
        "column:Oldest unacknowledged flag", "column:Response rate",
    )),
    StaffPage("clinic-therapist", ADMIN, "/clinic/therapists/{alice}/", key=(
        "column:Latest client total", "column:Open flags", "column:Response",
    )),
    StaffPage("what-works", ADMIN, "/clinic/repair/", key=(
        "column:Strategy", "column:What the numbers say", "column:Mean difference", "column:Rated higher",
    )),
    StaffPage("staff", ADMIN, "/clinic/staff/", key=(
        'role=button[name="Deactivate"]', 'role=link[name="Reassign clients"]', 'role=button[name="Send invitation"]',
        "column:Email", "column:Status",
    )),
    StaffPage("staff-reassign", ADMIN, "/clinic/staff/{alice}/reassign/", key=('role=button[name="Move clients"]',)),
    StaffPage("settings", ADMIN, "/clinic/settings/", key=('role=button[name="Save settings"]',)),
    StaffPage("data-rights", ADMIN, "/clinic/clients/", key=(
        'role=link[name="Export JSON"]', 'role=link[name="Erase…"]', "column:Therapist", "column:Status",
    )),
    StaffPage("data-rights-erase", ADMIN, "/clinic/clients/{client}/erase/", key=('role=button[name="Erase for good"]',)),
    StaffPage("api-keys", ADMIN, "/clinic/api-keys/", key=(
        'role=button[name="Make key"]', "column:Key starts", "column:What it may do", "column:Last used", "column:Status",
    )),
    StaffPage("api-keys-invalid", ADMIN, "/clinic/api-keys/", press="Make key", key=('role=button[name="Make key"]',)),
    StaffPage("audit", ADMIN, "/clinic/audit/", key=(
        'role=button[name="Filter"]', "column:Who", "column:Action", "column:Detail",
    )),
    StaffPage("webhooks", ADMIN, "/clinic/webhooks/", key=(
        'role=button[name="Add webhook"]', 'role=button[name="Send a test event"]', 'role=button[name="Turn on"]',
        '[data-testid="webhook-failed-banner"]', "column:Events", "column:Status", "column:Last delivered",
    )),
    StaffPage("webhook-deliveries", ADMIN, "/clinic/webhooks/{subscription}/deliveries/", key=(
        'role=link[name="Back to webhooks"]', "column:Idempotency key", "column:Status", "column:Last answer",
    )),
    StaffPage("webhook-created", ADMIN, "/clinic/webhooks/", fill={"URL": "https://ehr.harbour-clinic.example.org/rapport/events"},
              press="Add webhook", key=('[data-testid="webhook-secret"]', 'role=link[name="I have copied it, back to webhooks"]')),
    StaffPage("audit-lockouts", ADMIN, "/clinic/audit/lockouts/", key=(
        'role=button[name="Unlock"]', 'role=button[name="Reset two-step login"]',
    )),
    # --- Staff on their first login ------------------------------------------------------
    # --- A supervisor, reading a supervisee's work ------------------------------------------
    StaffPage("supervision", SUPERVISOR, "/supervision/", key=(
        'role=link[name="Alice Therapist"]', "column:Mean difference", "column:Agreement",
    )),
    StaffPage("supervision-therapist", SUPERVISOR, "/supervision/therapists/{alice}/", key=(
        'role=link[name="J.D."]', "column:Open flags", "column:What the numbers say",
    )),
    StaffPage("supervision-client-page", SUPERVISOR, "/clients/{client}/", key=(
        "column:Check-in", "column:Client-rated", "column:Therapist-rated",
    )),
    StaffPage("second-factor-setup", NEW_STAFF, "/accounts/2fa/setup/", key=(
        'img[alt="QR code for your authenticator app"]', "#totp-secret", 'role=button[name="Confirm"]',
    )),
    StaffPage("recovery-codes", NEW_STAFF, "/accounts/2fa/setup/", fill={"Code": "{setup_code}"}, press="Confirm", key=(
        "#recovery-codes", 'role=link[name="I have saved them, continue"]',
    )),
    # --- Before logging in, and what a client meets from an email -------------------------
    StaffPage("login", ANYONE, "/accounts/login/", key=('role=button[name="Log in"]',)),
    StaffPage("password-reset", ANYONE, "/accounts/password-reset/", key=('role=button[name="Send the link"]',)),
    StaffPage("password-reset-sent", ANYONE, "/accounts/password-reset/", fill={"Email": "{alice_email}"},
              press="Send the link"),
    StaffPage("password-reset-confirm", ANYONE, "/accounts/password-reset/{reset_uid}/{reset_token}/", key=(
        'role=button[name="Set password"]',
    )),
    StaffPage("staff-join", ANYONE, "/clinic/join/{invite_uid}/{invite_token}/", key=('role=button[name="Set password"]',)),
    StaffPage("unsubscribe", ANYONE, "/s/{unsubscribe_token}/unsubscribe/", key=("form button[type=submit]",)),
    StaffPage("unsubscribed", ANYONE, "/s/{unsubscribe_token}/unsubscribe/", press="Yes, stop these emails"),
)


def pages_for(who):
    return [p for p in STAFF_PAGES if p.who == who]


# --- Getting there ----------------------------------------------------------------------------


def log_in_as(page, base_url, who, *, cast, password):
    """Log `page` in as the person who sees `who`'s pages: the real login form and, for
    everyone but new staff, the real second-factor step."""
    if who == ANYONE:
        return
    if who == NEW_STAFF:
        page.goto(f"{base_url}/accounts/login/")
        page.get_by_label("Email").fill(cast[NEW_STAFF].email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/accounts/2fa/setup/**")
        return
    log_in_with_second_factor(page, base_url, cast[who], password)


def wait_for_charts(page):
    """Chart.js draws after load; the checks should see the pages with their charts drawn."""
    page.wait_for_function(
        "() => window.Chart && [...document.querySelectorAll('canvas[data-chart]')]"
        ".every(c => Chart.getChart(c))"
    )


def template_source_shown(page):
    """Template syntax the page shows as text (a {# #} comment is one line only: a
    second line is printed), or ""."""
    found = re.search(r"\{[#%{].{0,60}|.{0,60}[#%}]\}", page.locator("body").inner_text())
    return found.group(0) if found else ""


def resolve(template, seeded):
    """A path or typed value with its {placeholders} filled; a callable value is read
    now (a code that exists only once an earlier page has been shown)."""
    names = [k for k in seeded if "{" + k + "}" in template]
    return template.format(**{k: seeded[k]() if callable(seeded[k]) else seeded[k] for k in names})


def visit(page, base_url, staff_page, seeded):
    """Open the page as its user would: its URL, then what they type and press there."""
    response = page.goto(base_url + resolve(staff_page.path, seeded))
    assert response.ok, f"{staff_page.name}: {response.status} at {page.url}"
    for label, value in staff_page.fill.items():
        page.get_by_label(label).fill(resolve(value, seeded))
    if staff_page.press:
        with page.expect_navigation():
            page.get_by_role("button", name=staff_page.press).click()
    page.wait_for_load_state("networkidle")
    if page.locator("canvas[data-chart]").count():
        wait_for_charts(page)


# --- Data: something in every column ------------------------------------------------------


def populated_caseload(therapist, jd):
    """J.D. (the test client) with falling totals and so real flags (one acknowledged),
    comments and a session booked; five more clients in each check-in state."""
    now = timezone.now()
    sessions = history(jd, [37, 36, 33, 29], therapist_totals=[36, 37, 38, 37])
    for s in sessions:
        invitation(s, S.ANSWERED)
    CheckIn.objects.filter(session=sessions[1], source="client").update(comment="Felt heard today.")
    CheckIn.objects.filter(session=sessions[3], source="client").update(comment="Harder this week.\nNot sure why.")
    note(sessions[3], "Private note that must never reach a page but the author's.")
    SessionFactory(client=jd, scheduled_start=now + timedelta(days=6), attendance=Session.Attendance.BOOKED)
    Flag.objects.create(
        client=jd, kind=Flag.Kind.ATTENDANCE, severity=2, detail="2 missed of the last 5 sessions",
        raised_at=now - timedelta(days=60), resolved_at=now - timedelta(days=40),
    )
    flags_recompute_for_client(client=jd)
    low = Flag.objects.get(client=jd, kind=Flag.Kind.LOW_ALLIANCE, resolved_at__isnull=True)
    low.acknowledged_at, low.acknowledged_by, low.response = now - timedelta(hours=3), therapist, "discussed"
    low.response_text = "Talked about the pace of the work."
    low.save()

    pending = ClientFactory(therapist=therapist, display_name="M.N.", modality="humanistic")
    for s in history(pending, [35, 37]):
        invitation(s, S.ANSWERED)
    invitation(session_on(pending, days_ago=0), S.SENT, expires_in_days=6)
    # Booked, and its time has passed without its attendance recorded.
    session_on(pending, days_ago=2, attendance=Session.Attendance.BOOKED)

    ClientFactory(therapist=therapist, display_name="P.Q.", survey_consent=False)
    missed = ClientFactory(therapist=therapist, display_name="R.S.", modality="psychodynamic")
    session_on(missed, days_ago=15, attendance=Session.Attendance.NO_SHOW)
    session_on(missed, days_ago=8, attendance=Session.Attendance.LATE_CANCEL)
    invitation(session_on(missed, days_ago=1), S.FAILED)
    quiet = ClientFactory(therapist=therapist, display_name="T.U.")
    invitation(session_on(quiet, days_ago=9), S.EXPIRED, expires_in_days=-2)
    invitation(session_on(quiet, days_ago=2), S.EXPIRED, expires_in_days=-1)
    ClientFactory(therapist=therapist, display_name="V.W.", opted_out_at=now - timedelta(days=4))
    ClientFactory(therapist=therapist, display_name="X.Y.")
    for client in (missed, quiet):
        flags_recompute_for_client(client=client)


def second_therapists_client(bob_client):
    """Bob's client, in another modality and approach, with a flag of its own: what makes
    the dashboards' per-therapist and per-modality rows differ."""
    bob_client.modality, bob_client.relationship_approach = "humanistic", "supportive"
    bob_client.save()
    for s in history(bob_client, [40, 31, 38], therapist_totals=[38, None, 36]):
        invitation(s, S.ANSWERED)
    checkin(session_on(bob_client, days_ago=70), 22)
    flags_recompute_for_client(client=bob_client)


def webhooks_with_history(clinic):
    """A webhook with deliveries in every state (delivered, retrying, waiting), and one
    turned off after failures, for the banner. Returns the first."""
    from webhooks.models import Delivery, Event, Subscription

    now = timezone.now()
    working = Subscription.objects.create(
        clinic=clinic, url="https://ehr.harbour-clinic.example.org/integrations/rapport/webhooks/receive",
        events=["checkin.received", "flag.raised", "flag.resolved"], secret="whsec_seeded", consecutive_failures=1,
    )
    for i, (status, attempts, code, error) in enumerate([
        ("delivered", 1, 200, ""), ("delivered", 2, 200, ""), ("pending", 1, 503, "HTTP 503"), ("pending", 0, None, ""),
    ]):
        Delivery.objects.create(
            subscription=working, event=[Event.CHECKIN_RECEIVED, Event.FLAG_RAISED][i % 2],
            idempotency_key=f"checkin:{1000 + i}", payload={}, status=status, attempts=attempts, last_status_code=code,
            last_error=error, created_at=now - timedelta(minutes=10 - i), sent_at=now if status == "delivered" else None,
            next_attempt_at=now + timedelta(minutes=1),
        )
    Subscription.objects.create(
        clinic=clinic, url="http://old-pms.example.org/hook", events=["flag.raised"], secret="whsec_old",
        scope=Subscription.Scope.SCORES_AND_COMMENTS, is_active=False, disabled_at=now - timedelta(hours=2),
        disabled_reason=Subscription.DisabledReason.FAILURES, consecutive_failures=10,
    )
    return working


def seed_staff_pages(*, alice, bob, carol, alice_client, bob_client):
    """The clinic the pages are shown with: alice's populated caseload, bob's clients
    for the dashboards, staff with long emails and in every state (invited, locked out,
    new), a password-reset link and an email's unsubscribe link. Returns the values the
    paths' {placeholders} take, and the cast: who logs in for each role."""
    populated_caseload(alice, alice_client)
    second_therapists_client(bob_client)

    clinic = alice.clinic
    # Long addresses, as real staff lists hold: they must wrap, not widen the page.
    dave = UserFactory(clinic=clinic, full_name="Dave Newcomer",
                       email="dave.newcomer-for-the-harbour-clinic-evening-team@example.com")
    invited = UserFactory(clinic=clinic, full_name="Erin Invited", email="erin.invited.therapist@harbour-clinic.example.org")
    invited.set_unusable_password()
    invited.save()
    AccessAttempt.objects.create(
        username=bob.email, ip_address="10.3.0.1", user_agent="Mozilla/5.0", failures_since_start=5,
        get_data="", post_data="", http_accept="*/*", path_info="/accounts/login/",
    )

    missed = alice.clients.get(display_name="R.S.")
    unrated = Session.objects.filter(client__display_name="M.N.", client__therapist=alice).latest("scheduled_start")
    handover = session_on(ClientFactory(therapist=alice, display_name="H.O."), days_ago=0)
    rated = Session.objects.filter(client=alice_client, scheduled_start__lt=timezone.now()).latest("scheduled_start")

    subscription = webhooks_with_history(clinic)
    # API keys: one in use with every scope (the longest cell), one revoked.
    in_use, _ = api_key_create(clinic=clinic, by=carol, name="Harbour EHR nightly sync", scopes=list(Scope.values))
    api_key_touch(key=in_use)
    revoked, _ = api_key_create(clinic=clinic, by=carol, name="Old billing export", scopes=[Scope.CLIENTS_READ])
    api_key_revoke(key=revoked, by=carol)
    # A supervisor of alice, and the strategies of her acknowledged flag, for the repair
    # and calibration pages.
    sam = UserFactory(clinic=clinic, full_name="Sam Supervisor", email="sam.supervisor@example.com", role="supervisor")
    Supervision.objects.create(clinic=clinic, supervisor=sam, therapist=alice)
    for acted in Flag.objects.filter(client__therapist=alice, acknowledged_at__isnull=False):
        FlagStrategy.objects.create(flag=acted, strategy="invite_feedback")

    # An email's links, as the outbox sends them, for the unsubscribe page.
    emailed = ClientFactory(therapist=bob, display_name="E.M.")
    _, sent = log_session(client=emailed)
    send_inline(sent)

    return {
        # Who logs in for each role's pages (log_in_as).
        "cast": {THERAPIST: alice, ADMIN: carol, SUPERVISOR: sam, NEW_STAFF: dave},
        "client": alice_client.pk,
        "missed_client": missed.pk,
        "new_client": alice.clients.get(display_name="X.Y.").pk,
        "rated_session": rated.pk,
        "unrated_session": unrated.pk,
        "handover_session": handover.pk,
        "alice": alice.pk,
        "subscription": subscription.pk,
        "alice_email": alice.email,
        "reset_uid": urlsafe_base64_encode(force_bytes(alice.pk)),
        "reset_token": default_token_generator.make_token(alice),
        "invite_uid": urlsafe_base64_encode(force_bytes(invited.pk)),
        "invite_token": staff_invite_token_generator.make_token(invited),
        "unsubscribe_token": token_of(mail.outbox[-1]),
        # Read when typed: the device exists once the setup page has been shown.
        "setup_code": lambda: setup_code(dave),
    }


def setup_code(dave):
    """The code dave's authenticator app would show for the device the setup page made."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return current_totp_code(TOTPDevice.objects.get(user=dave, confirmed=False))
