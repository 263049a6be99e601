"""Access-control matrix: every URL pattern × every object it can name × every role.

TABLE says, for each URL pattern name, which object kind its parameters name and who may
use it. A pattern missing from TABLE fails the test, so a new page cannot ship without
someone deciding who may see it. Authorised pairs must work (not 403/404/5xx, no bounce
to login); unauthorised pairs must answer 403 or 404 (anonymous: a redirect to login),
never 200 or 500.

Specs: public | staff | therapist | admin | supervisor (any user of that role, about their
own clinic); therapist:own (the therapist of the object's client); admin:clinic (an admin
of the object's clinic); supervisor:own (a supervisor of the object's therapist, in the
same clinic: never a colleague they do not supervise, never another clinic); key (the
REST API and FHIR views: an API key only, so every browser role, logged in or not, is
refused with 401; tests/api/test_access_matrix.py checks them key × scope × clinic).
"""

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.security.world import (
    ADMINS, CLINIC_OF, ROLES, SUPERVISES, SUPERVISORS, THERAPISTS, all_routes, build_world, login_client,
)

pytestmark = pytest.mark.django_db

# pattern name -> (object kind the path names, or None; allowed specs; options)
TABLE = {
    "home": (None, {"staff"}, ()),
    "healthz": (None, {"public"}, ()),
    "login": (None, {"public"}, ()),
    "logout": (None, {"public"}, ("skip",)),  # POST logs the test client out; covered in tests/accounts
    "two_factor_setup": (None, {"staff"}, ()),
    "two_factor_verify": (None, {"staff"}, ()),
    "two_factor_recovery_codes": (None, {"staff"}, ()),
    "account_language": (None, {"staff"}, ()),
    "password_reset": (None, {"public"}, ()),
    "password_reset_done": (None, {"public"}, ()),
    "password_reset_confirm": ("reset", {"public"}, ()),
    "password_reset_complete": (None, {"public"}, ()),
    "caseload": (None, {"therapist"}, ()),
    "client_new": (None, {"therapist"}, ()),
    "client_detail": ("client", {"therapist:own", "admin:clinic", "supervisor:own"}, ()),
    "client_edit": ("client", {"therapist:own"}, ()),
    "client_discharge": ("client", {"therapist:own"}, ()),
    "client_reactivate": ("client", {"therapist:own"}, ()),
    "session_new": ("client", {"therapist:own"}, ()),
    "session_book": ("client", {"therapist:own"}, ()),
    "session_detail": ("session", {"therapist:own", "admin:clinic"}, ()),
    "session_edit": ("session", {"therapist:own"}, ()),
    "flag_acknowledge": ("flag", {"therapist:own"}, ()),
    "needs_attention": (None, {"therapist"}, ()),
    "clinic_dashboard": (None, {"admin"}, ()),
    "dashboard_export": ("table", {"admin"}, ()),
    "clinic_therapist": ("therapist_user", {"admin:clinic"}, ()),
    "clinic_repair": (None, {"admin"}, ()),
    "my_practice": (None, {"therapist"}, ()),
    # A supervisor's read-only pages (supervision/).
    "supervision_home": (None, {"supervisor"}, ()),
    "supervision_therapist": ("supervisee", {"supervisor:own"}, ()),
    "clinic_staff_supervisees": ("supervisor_user", {"admin:clinic"}, ()),
    "invitation_resend": ("invitation", {"therapist:own"}, ()),
    "survey_thanks": (None, {"public"}, ()),
    "survey_checkin": ("token", {"public"}, ()),
    "survey_unsubscribe": ("token", {"public"}, ()),
    "clinic_staff": (None, {"admin"}, ()),
    "clinic_staff_invite": (None, {"admin"}, ()),
    "clinic_staff_deactivate": ("staff_user", {"admin:clinic"}, ()),
    "clinic_staff_reassign": ("staff_user", {"admin:clinic"}, ()),
    "clinic_settings": (None, {"admin"}, ()),
    "clinic_settings_recompute": (None, {"admin"}, ()),
    "clinic_join": ("join", {"public"}, ()),
    "rights_index": (None, {"admin"}, ()),
    "client_export_json": ("client", {"admin:clinic"}, ()),
    "client_export_with_my_notes": ("client", {"therapist:own"}, ()),
    "client_erase": ("client", {"admin:clinic"}, ()),
    "audit_list": (None, {"admin"}, ()),
    "audit_lockouts": (None, {"admin"}, ()),
    "audit_lockout_unlock": ("staff_user", {"admin:clinic"}, ()),
    "audit_two_factor_reset": ("staff_user", {"admin:clinic"}, ()),
    # In the session (alliance/checkins/in_session.py): started by the session's therapist.
    "in_session_phone": ("session", {"therapist:own"}, ()),
    "handover_start": ("session", {"therapist:own"}, ()),
    "in_session_status": ("invitation", {"therapist:own"}, ()),
    # The hand-over screen: a logged-in user's own session (without a lock, it sends them home).
    "handover_checkin": (None, {"staff"}, ()),
    "handover_thanks": (None, {"staff"}, ()),
    "handover_unlock": (None, {"staff"}, ()),
    "checkin_code": (None, {"public"}, ()),
    # The SMS provider's webhooks: public, POST only, refused without its signature
    # (tests/alliance/checkins/test_sms_webhooks.py).
    "sms_status": (None, {"public"}, ()),
    "sms_incoming": (None, {"public"}, ()),
    # Webhooks (webhooks/): the clinic admin's, each subscription of their own clinic only.
    "webhook_list": (None, {"admin"}, ()),
    "webhook_create": (None, {"admin"}, ()),
    "webhook_deliveries": ("subscription", {"admin:clinic"}, ()),
    "webhook_test": ("subscription", {"admin:clinic"}, ()),
    "webhook_disable": ("subscription", {"admin:clinic"}, ()),
    "webhook_enable": ("subscription", {"admin:clinic"}, ()),
    "webhook_delete": ("subscription", {"admin:clinic"}, ()),
    # Development only (RAPPORT_DEV_OUTBOX; 404 in production), and for logged-in therapists
    # and admins even then (a supervisor has no business with clients' check-in links).
    "dev_outbox": (None, {"therapist", "admin"}, ()),
    # The clinic admin's API keys (clinic/api_keys/).
    "clinic_api_keys": (None, {"admin"}, ()),
    "clinic_api_key_revoke": ("api_key", {"admin:clinic"}, ()),
    # The REST API (api/): its schema and docs are public; the rest takes a key.
    "api_schema": (None, {"public"}, ()),
    "api_docs": (None, {"public"}, ()),
    "api_clients": (None, {"key"}, ()),
    "api_client": ("client_external_id", {"key"}, ()),
    "api_client_discharge": ("client_external_id", {"key"}, ()),
    "api_sessions": (None, {"key"}, ()),
    "api_session": ("session", {"key"}, ()),
    "api_checkins": (None, {"key"}, ()),
    "api_flags": (None, {"key"}, ()),
    "api_flag_acknowledge": ("flag", {"key"}, ()),
    "api_dashboard": (None, {"key"}, ()),
    # FHIR (api/fhir/): the CapabilityStatement is public, the resources take a key.
    "fhir_metadata": (None, {"public"}, ()),
    "fhir_questionnaire": ("questionnaire", {"key"}, ()),
    "fhir_questionnaire_responses": (None, {"key"}, ()),
    "fhir_questionnaire_response": ("checkin", {"key"}, ()),
    "fhir_observations": (None, {"key"}, ()),
    "fhir_observation": ("observation", {"key"}, ()),
}
# The Django admin: platform superusers only (is_staff + verified second factor); no
# clinic role has is_staff, so every role is sent to log in.
ADMIN_NAMESPACE = "admin:"
ADMIN_PARAMS = {"object_id": "1", "app_label": "accounts", "content_type_id": "1", "url": "x"}


def allowed(specs, role, obj):
    if "public" in specs:
        return True
    if role == "anonymous":
        return False
    for spec in specs:
        if spec == "staff":
            return True
        if spec == "therapist" and role in THERAPISTS:
            return True
        if spec == "admin" and role in ADMINS:
            return True
        if spec == "supervisor" and role in SUPERVISORS:
            return True
        if (spec == "supervisor:own" and role in SUPERVISORS and obj is not None
                and obj.therapist == SUPERVISES[role] and obj.clinic == CLINIC_OF[role]):
            return True
        if spec == "therapist:own" and role in THERAPISTS and obj is not None and obj.therapist == role:
            return True
        if spec == "admin:clinic" and role in ADMINS and obj is not None and obj.clinic == CLINIC_OF[role]:
            return True
    return False


def kwargs_for(route, obj):
    if obj is None:
        return {}
    if route.params == ("uidb64", "token"):
        return {"uidb64": obj.value[0], "token": obj.value[1]}
    assert len(route.params) == 1, route
    return {route.params[0]: obj.value}


def is_login_redirect(response):
    location = response.get("Location", "")
    return response.status_code == 302 and (location.startswith(reverse("login")) or location.startswith("/admin/login/"))


def is_2fa_redirect(response):
    return response.status_code == 302 and "/accounts/2fa/" in response.get("Location", "")


def clients_by_role(world):
    clients = {"anonymous": Client()}
    for role in ROLES:
        if role != "anonymous":
            clients[role] = login_client(Client(), world.users[role])
    return clients


def test_every_url_pattern_has_an_access_rule():
    missing = sorted(
        r.name for r in all_routes()
        if not r.name.startswith(ADMIN_NAMESPACE) and not r.route.startswith("admin/") and r.name not in TABLE
    )
    assert not missing, (
        "URL patterns with no row in tests/security/test_access_matrix.py TABLE — decide who may use them: "
        + ", ".join(missing)
    )
    stale = sorted(set(TABLE) - {r.name for r in all_routes()})
    assert not stale, f"TABLE rows for URL patterns that no longer exist: {stale}"


def test_the_access_matrix(settings):
    settings.LOGIN_RATE_PER_IP = "100000/m"
    world = build_world()
    clients = clients_by_role(world)
    problems, checked, skipped = [], 0, 0
    routes = [r for r in all_routes() if r.name in TABLE]
    for route in routes:
        kind, specs, options = TABLE[route.name]
        if "skip" in options:
            skipped += len(ROLES)
            continue
        for obj in world.objects[kind] if kind else [None]:
            url = reverse(route.name, kwargs=kwargs_for(route, obj))
            for role in ROLES:
                client = clients[role]
                ok = allowed(specs, role, obj)
                response = client.get(url)
                method = "GET"
                if response.status_code == 405:
                    if ok:
                        # POST-only actions change data; the authorised path is each
                        # app's own test. Only refusals are checked here.
                        skipped += 1
                        continue
                    response = client.post(url, {})
                    method = "POST"
                checked += 1
                where = f"{method} {url} ({route.name}, {obj.label if obj else '-'}) as {role}: {response.status_code}"
                if response.status_code >= 500:
                    problems.append("server error: " + where)
                elif ok:
                    if response.status_code in (403, 404, 405) or is_login_redirect(response) or is_2fa_redirect(response):
                        problems.append("authorised but refused: " + where)
                else:
                    refused = response.status_code in (403, 404) or (role == "anonymous" and is_login_redirect(response)) or (
                        "key" in specs and response.status_code == 401
                    )
                    if not refused:
                        problems.append("NOT refused: " + where)
                    # A GET that offers a form to the wrong person is one thing; the
                    # POST must be refused as well.
                    if method == "GET" and refused and "public" not in specs:
                        post = client.post(url, {})
                        checked += 1
                        post_refused = post.status_code in (403, 404, 405) or (role == "anonymous" and is_login_redirect(post)) or (
                            "key" in specs and post.status_code == 401
                        )
                        if not post_refused:
                            problems.append(f"NOT refused: POST {url} ({route.name}) as {role}: {post.status_code}")
    admin_checked = _check_django_admin(clients, problems)
    print(f"\naccess matrix: {checked} non-admin (URL, object, role, method) checks, "
          f"{admin_checked} Django-admin checks, {skipped} skipped (POST-only authorised / logout), "
          f"{len(routes)} patterns × {len(ROLES)} roles")
    assert not problems, "\n".join(problems)


def _check_django_admin(clients, problems):
    checked = 0
    for route in all_routes():
        if not route.name.startswith(ADMIN_NAMESPACE):
            continue
        try:
            url = reverse(route.name, kwargs={p: ADMIN_PARAMS.get(p, "1") for p in route.params})
        except NoReverseMatch:
            continue
        for role, client in clients.items():
            response = client.get(url)
            checked += 1
            # Django's admin_view sends a visitor without permission on admin:logout back
            # to the admin index (which in turn sends them to log in).
            to_index = response.status_code == 302 and response.get("Location") == reverse("admin:index")
            if not (is_login_redirect(response) or response.status_code in (403, 404) or to_index):
                problems.append(f"Django admin open: GET {url} as {role}: {response.status_code}")
    return checked
