import pytest
from django.urls import reverse

from alliance.models import SurveyInvitation
from audit.models import AuditEvent
from tests.clients.factories import InvitationFactory
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db


def test_it_discharges_the_client_and_cancels_pending_check_ins(client, login, alice, alice_client):
    pending = InvitationFactory(session=SessionFactory(client=alice_client), status=SurveyInvitation.Status.SCHEDULED)
    login(client, alice)
    response = client.post(reverse("client_discharge", args=[alice_client.pk]))
    assert response.status_code == 302
    alice_client.refresh_from_db()
    assert alice_client.status == "discharged" and alice_client.discharged_at is not None
    assert not alice_client.can_receive_surveys
    pending.refresh_from_db()
    assert pending.status == SurveyInvitation.Status.CANCELLED
    assert AuditEvent.objects.filter(action="client.discharge", object_id=str(alice_client.pk)).count() == 1


def test_it_takes_the_client_off_the_caseload(client, login, alice, alice_client):
    login(client, alice)
    client.post(reverse("client_discharge", args=[alice_client.pk]))
    assert list(client.get(reverse("caseload")).context["page"].object_list) == []


def test_it_asks_for_confirmation_first_and_only_the_post_discharges(client, login, alice, alice_client):
    login(client, alice)
    response = client.get(reverse("client_discharge", args=[alice_client.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Discharge J.D.?" in page and "check-ins not yet sent are cancelled" in page
    assert 'method="post"' in page
    alice_client.refresh_from_db()
    assert alice_client.status == "active"
    assert not AuditEvent.objects.filter(action="client.discharge").exists()


def test_it_refuses_the_clinic_admin(client, login, carol, alice_client):
    login(client, carol)
    assert client.post(reverse("client_discharge", args=[alice_client.pk])).status_code == 403
    alice_client.refresh_from_db()
    assert alice_client.status == "active"


def test_it_clears_the_clients_open_flags_at_discharge(client, login, alice, alice_client):
    from alliance.flags.rules import flags_recompute_for_client
    from alliance.models import Flag
    from tests.factories import CheckInFactory

    CheckInFactory(session=SessionFactory(client=alice_client), trust=3, empathy=3, boundaries=3, collaboration=3)
    flags_recompute_for_client(client=alice_client)
    assert Flag.objects.filter(client=alice_client, kind="low_alliance", resolved_at__isnull=True).exists()

    login(client, alice)
    client.post(reverse("client_discharge", args=[alice_client.pk]))
    assert not Flag.objects.filter(client=alice_client, resolved_at__isnull=True).exists()
    # Re-activated, the evidence still holds, so the flag is raised again.
    client.post(reverse("client_reactivate", args=[alice_client.pk]))
    assert Flag.objects.filter(client=alice_client, kind="low_alliance", resolved_at__isnull=True).exists()
