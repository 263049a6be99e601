import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def discharged(alice_client):
    alice_client.status, alice_client.discharged_at = "discharged", timezone.now()
    alice_client.save()
    return alice_client


def test_it_brings_the_client_back_to_the_caseload(client, login, alice, discharged):
    login(client, alice)
    response = client.post(reverse("client_reactivate", args=[discharged.pk]))
    assert response.status_code == 302
    discharged.refresh_from_db()
    assert discharged.status == "active" and discharged.discharged_at is None
    assert AuditEvent.objects.filter(action="client.reactivate").count() == 1
    assert list(client.get(reverse("caseload")).context["page"].object_list) == [discharged]


def test_it_only_accepts_post(client, login, alice, discharged):
    login(client, alice)
    assert client.get(reverse("client_reactivate", args=[discharged.pk])).status_code == 405


def test_it_answers_404_for_another_therapist(client, login, bob, discharged):
    login(client, bob)
    assert client.post(reverse("client_reactivate", args=[discharged.pk])).status_code == 404
    discharged.refresh_from_db()
    assert discharged.status == "discharged"
