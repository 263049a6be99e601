"""Notes stay private: a unique marker written as Alice's session note must come back
only on Alice's own pages. Every URL in the URL configuration is requested as every role
(and, for the Django admin, as a platform superuser), by GET and where sensible by POST,
and every REST API and FHIR endpoint with an all-scope API key of each clinic;
every response body, every log line (DEBUG and up), every audit row, every email sent and
every webhook delivered is searched for the marker. A client's comment gets a marker of
its own: for their therapist, never shown to a supervisor (nor the note: a repair note
carries the note marker too)."""

import json
import logging
import uuid

import pytest
from django.apps import apps
from django.core import mail
from django.test import Client
from django.urls import NoReverseMatch, reverse

from api.models import Scope
from api.services import api_key_create
from audit.models import AuditEvent
from tests.factories import UserFactory
from tests.security.test_access_matrix import ADMIN_NAMESPACE, ADMIN_PARAMS, TABLE, allowed, kwargs_for
from tests.security.world import ROLES, SUPERVISORS, all_routes, build_world, login_client
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db

AUTHOR = "alice"


def _body(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content or b""


def _admin_url(route):
    """Reverse an admin URL, naming a real object of the right model where it needs one."""
    kwargs = {p: ADMIN_PARAMS.get(p, "1") for p in route.params}
    id_params = [p for p in route.params if p in ("object_id", "pk")]
    if id_params:
        label = route.name[len(ADMIN_NAMESPACE):].rsplit("_", 1)[0]
        for model in apps.get_models():
            if f"{model._meta.app_label}_{model._meta.model_name}" == label:
                obj = model._default_manager.order_by("pk").first()
                if obj is None:
                    return None
                for param in id_params:
                    kwargs[param] = str(obj.pk)
    try:
        return reverse(route.name, kwargs=kwargs)
    except NoReverseMatch:
        return None


def test_the_note_marker_appears_only_on_the_authors_pages(caplog, settings):
    settings.LOGIN_RATE_PER_IP = "100000/m"
    settings.PASSWORD_RESET_RATE_PER_IP = "100000/m"
    caplog.set_level(logging.DEBUG)
    marker = f"NOTE-MARKER-{uuid.uuid4().hex}"
    comment_marker = f"COMMENT-MARKER-{uuid.uuid4().hex}"
    world = build_world(marker=marker, comment_marker=comment_marker)
    root = UserFactory(email="root@example.com", is_staff=True, is_superuser=True, clinic=None, role="clinic_admin")
    clients = {"anonymous": Client()}
    for role in ROLES:
        if role != "anonymous":
            clients[role] = login_client(Client(), world.users[role])
    clients["root"] = login_client(Client(), root)

    requests, author_hits, leaks = 0, [], []
    comment_hits, comment_leaks = [], []

    def look(role, method, url, response):
        nonlocal requests
        requests += 1
        body = _body(response)
        if marker.encode() in body:
            (author_hits if role == AUTHOR else leaks).append(f"{method} {url} as {role} ({response.status_code})")
        if comment_marker.encode() in body:
            (comment_leaks if role in SUPERVISORS else comment_hits).append(f"{method} {url} as {role}")

    routes = list(all_routes())
    for route in routes:
        if route.name.startswith(ADMIN_NAMESPACE) or route.route.startswith("admin/"):
            continue
        kind, specs, options = TABLE.get(route.name, (None, {"public"}, ()))
        if "skip" in options:
            continue
        objects = world.objects.get(kind, [None]) if kind else [None]
        for obj in objects:
            try:
                url = reverse(route.name, kwargs=kwargs_for(route, obj))
            except (NoReverseMatch, AssertionError):
                continue
            for role in [*ROLES, "root"]:
                client = clients[role]
                response = client.get(url)
                look(role, "GET", url, response)
                # POST where it changes nothing durable: an empty form posted back to a
                # page that also answers GET (it re-renders with errors, or refuses). The
                # POST-only actions (discharge, deactivate, …) are posted by roles that
                # may not use them, which must be refused without revealing anything.
                if response.status_code != 405 or not allowed(specs, role, obj):
                    look(role, "POST", url, client.post(url, {}))

    # The REST API and FHIR views, with a key of every scope from each clinic: every
    # endpoint, every object, by GET and by each write method with an empty body.
    api_keys = {
        admin: api_key_create(clinic=world.users[admin].clinic, by=world.users[admin], name="crawl", scopes=list(Scope.values))[1]
        for admin in ("carol", "olga")
    }
    for route in routes:
        if TABLE.get(route.name, (None, set(), ()))[1] != {"key"}:
            continue
        kind = TABLE[route.name][0]
        methods = set(getattr(route.callback.view_class, "scopes", {}))
        for obj in world.objects.get(kind, [None]) if kind else [None]:
            url = reverse(route.name, kwargs=kwargs_for(route, obj))
            for admin, secret in api_keys.items():
                who = f"API key of {admin}"
                headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
                look(who, "GET", url, clients["anonymous"].get(url, **headers))
                for method in methods - {"GET"}:
                    send = getattr(clients["anonymous"], method.lower())
                    look(who, method, url, send(url, "{}", content_type="application/json", **headers))

    # Emails: a password reset for everyone, and a staff invitation.
    for role in ROLES[:-1]:
        look("anonymous", "POST", "password_reset", clients["anonymous"].post(
            reverse("password_reset"), {"email": world.users[role].email}))
    look("carol", "POST", "clinic_staff_invite", clients["carol"].post(
        reverse("clinic_staff_invite"), {"full_name": "New Colleague", "email": "colleague@example.com"}))

    webhook_bodies = _webhook_deliveries(world)

    admin_routes = [r for r in routes if r.name.startswith(ADMIN_NAMESPACE)]
    for route in admin_routes:
        url = _admin_url(route)
        if url is None or route.name == "admin:logout":
            continue
        for role in ("root", "carol", AUTHOR):
            look(role, "GET", url, clients[role].get(url))

    log_hits = [r.getMessage() for r in caplog.records if marker in r.getMessage() or marker in str(r.exc_text or "")]
    if marker in caplog.text:
        log_hits.append("(formatted log text)")
    audit_hits = [
        e.pk for e in AuditEvent.objects.all()
        if marker in json.dumps(e.detail) or marker in f"{e.action}{e.object_type}{e.object_id}"
    ]
    mail_hits = [m.subject for m in mail.outbox if marker in m.subject or marker in m.body
                 or any(marker in str(content) for content, _ in getattr(m, "alternatives", []))]

    print(f"\nnote marker: {requests} requests over {len(routes)} URL patterns as {len(ROLES) + 1} roles; "
          f"{len(caplog.records)} log records, {AuditEvent.objects.count()} audit rows, {len(mail.outbox)} emails searched")
    print(f"note marker: {len(author_hits)} hits on the author's own pages: {author_hits}")
    print(f"note marker: {len(leaks)} hits elsewhere, {len(log_hits)} in logs, {len(audit_hits)} in audit rows, "
          f"{len(mail_hits)} in emails")
    print(f"note marker: comment marker seen {len(comment_hits)} times by others than supervisors, "
          f"{len(comment_leaks)} times by supervisors")
    assert author_hits, "the author never saw her own note: the walk is not reaching the note pages"
    assert any(f"as {AUTHOR}" in hit for hit in comment_hits), "the therapist never saw the comment: the walk misses it"
    assert not comment_leaks, "a client's comment shown to a supervisor:\n" + "\n".join(comment_leaks)
    assert not leaks, "note text shown to someone other than its author:\n" + "\n".join(leaks)
    assert not log_hits, f"note text in the logs: {log_hits[:3]}"
    assert not audit_hits, f"note text in audit rows {audit_hits}"
    assert not mail_hits, f"note text in emails: {mail_hits}"
    # The webhook under the widest scope carried alice's client's check-in and comment
    # (so the walk reached it), and never the note.
    assert any(comment_marker.encode() in body for body in webhook_bodies), "no webhook delivery carried the check-in"
    assert not [b for b in webhook_bodies if marker.encode() in b], "note text in a webhook delivery"


def _webhook_deliveries(world):
    """Subscribe a receiver on loopback to every event with comments, let alice's
    client's answer and flags travel through the real refresh and outbox, and return
    the bodies it received."""
    from alliance.flags.refresh import flags_refresh
    from alliance.models import CheckIn
    from webhooks import outbox
    from webhooks.models import Subscription
    from webhooks.services import subscription_create

    receiver = Receiver().start()
    try:
        subscription, receiver.secret = subscription_create(
            clinic=world.users["carol"].clinic, url=receiver.url, by=world.users["carol"],
            events=["checkin.received", "flag.raised", "flag.resolved"], scope=Subscription.Scope.SCORES_AND_COMMENTS,
        )
        CheckIn.objects.filter(client=world.clients[AUTHOR]).update(flags_pending=True)
        flags_refresh(world.clients[AUTHOR].pk)
        assert subscription.pk in outbox.deliveries_dispatch_due()
        claim = Subscription.objects.values_list("claim_id", flat=True).get(pk=subscription.pk)
        outbox.subscription_deliver(subscription_id=subscription.pk, claim_id=claim)
        assert receiver.got() and all(r.verified for r in receiver.got())
        return [r.body for r in receiver.got()]
    finally:
        receiver.stop()
