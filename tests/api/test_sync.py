"""An EHR-side script keeps Rapport in step without a browser: over real HTTP (a live
server, `requests`), it creates a client and a session, the client answers the check-in
Rapport emails them, and the script reads the answer back by polling updated_since."""

import re
from datetime import timedelta

import pytest
import requests
from django.core import mail
from django.utils import timezone

from alliance.models import SurveyInvitation
from api.models import Scope
from tests.alliance.conftest import send_inline, token_of

pytestmark = pytest.mark.django_db(transaction=True)


class EhrSync:
    """What a clinic's sync job does, written as one would outside Rapport."""

    def __init__(self, base, key):
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {key}"
        self.base = base + "/api/v1"

    def call(self, method, path, **kwargs):
        response = self.http.request(method, self.base + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def poll(self, path, since):
        """Every record changed at or after `since`, following the cursor."""
        url, params, rows = self.base + path, {"updated_since": since}, []
        while url:
            response = self.http.get(url, params=params, timeout=10)
            response.raise_for_status()
            page = response.json()
            rows += page["results"]
            url, params = page["next"], None
        return rows


def test_an_ehr_script_creates_a_session_and_reads_the_check_in_back(live_server, make_key, alice):
    alice.clinic.survey_delay_hours = 0
    alice.clinic.save()
    _, secret = make_key([Scope.CLIENTS_WRITE, Scope.SESSIONS_WRITE, Scope.SESSIONS_READ, Scope.SCORES_READ])
    ehr = EhrSync(live_server.url, secret)
    started_sync = timezone.now().isoformat()

    client = ehr.call("POST", "/clients/", json={
        "external_id": "MRN-0042", "therapist": alice.pk, "display_name": "J. Doe", "email": "jdoe@example.org",
        "survey_consent": True, "modality": "humanistic", "relationship_approach": "supportive",
    })
    start = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    session = ehr.call("POST", "/sessions/", json={
        "client_external_id": "MRN-0042", "scheduled_start": start.isoformat(), "duration_minutes": 50,
        "attendance": "attended", "format": "video",
    })
    assert session["checkin_invitation"]["status"] == "scheduled"
    assert client["external_id"] == "MRN-0042"
    assert ehr.poll("/checkins/", started_sync) == []

    # Rapport's outbox sends the check-in; the client answers it from the email's link.
    invitation = SurveyInvitation.objects.get(session_id=session["id"])
    assert send_inline(invitation).result == "sent"
    link = f"{live_server.url}/s/{token_of(mail.outbox[-1])}/"
    phone = requests.Session()
    form = phone.get(link, timeout=10)
    assert form.status_code == 200
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    answer = {"trust": "8", "empathy": "9", "boundaries": "9", "collaboration": "6", "comment": "good"}
    if csrf:
        answer["csrfmiddlewaretoken"] = csrf.group(1)
    assert phone.post(link, data=answer, headers={"Referer": link}, timeout=10).status_code == 200

    [checkin] = ehr.poll("/checkins/", started_sync)
    assert (checkin["session"], checkin["client_external_id"], checkin["source"]) == (session["id"], "MRN-0042", "client")
    assert (checkin["trust"], checkin["empathy"], checkin["boundaries"], checkin["collaboration"], checkin["total"]) == (8, 9, 9, 6, 32)
    assert checkin["channel"] == "email" and "comment" not in checkin
    # The next poll, from the last change seen, brings nothing new.
    later = (timezone.datetime.fromisoformat(checkin["updated_at"]) + timedelta(microseconds=1)).isoformat()
    assert ehr.poll("/checkins/", later) == []
    [synced] = ehr.poll("/sessions/", started_sync)
    assert synced["checkin_invitation"]["status"] == "answered"
