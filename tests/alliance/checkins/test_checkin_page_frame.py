"""The check-in page kept per language (alliance/checkins/page.py) is the template's own
page, byte for byte, in every language and for every kind of link; and the answer's
one PostgreSQL statement (services.checkin_answer) writes the rows the three-statement
transaction writes."""

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone, translation

from alliance.checkins import page, services
from alliance.checkins.forms import CheckInForm
from alliance.flags.refresh import flags_refresh_pending
from alliance.models import CheckIn, SurveyInvitation
from audit.models import AuditEvent
from tests.alliance.conftest import log_session, send_inline, token_of

TRICKY = 'Sol & Luna <Clínica> "Norte" \'1\''
LANGUAGES = [code for code, _ in settings.LANGUAGES]


def _template_page(language, *, clinic_name, expires_on, unsubscribe_url):
    with translation.override(language):
        return render_to_string(
            page.TEMPLATE,
            {"language": language, **page.page_context(
                form=CheckInForm(), clinic_name=clinic_name, expires_on=expires_on, unsubscribe_url=unsubscribe_url)},
        )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("unsubscribe_url", ["/s/abc-_123/unsubscribe/", None])
def test_the_kept_page_is_the_templates_page(language, unsubscribe_url):
    expires_on = "12 <b>May</b> 2027, 10:00 & later"
    kept = page.blank_form_html(language, clinic_name=TRICKY, expires_on=expires_on, unsubscribe_url=unsubscribe_url)
    assert kept == _template_page(language, clinic_name=TRICKY, expires_on=expires_on, unsubscribe_url=unsubscribe_url)
    # Escaped as the template escapes: nothing of the values reaches the page as markup.
    assert "<Clínica>" not in kept and "<b>May" not in kept
    assert "\ue000" not in kept


@pytest.mark.django_db
def test_a_link_opens_the_kept_page_with_its_clinic_expiry_and_language(client, sent_invitation):
    invitation, token = sent_invitation
    clinic = invitation.client.clinic
    clinic.name, clinic.timezone = TRICKY, "America/Mexico_City"
    clinic.save(update_fields=["name", "timezone"])
    invitation.client.language = "es"
    invitation.client.save(update_fields=["language"])
    response = client.get(f"/s/{token}/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200 and response["Content-Language"] == "es"
    with translation.override("es"):
        expires_on = page.expiry_text(invitation.expires_at, clinic.tzinfo)
    assert expires_on and timezone.localtime(invitation.expires_at, clinic.tzinfo).strftime("%Y") in expires_on
    assert response.content.decode() == _template_page(
        "es", clinic_name=TRICKY, expires_on=expires_on, unsubscribe_url=f"/s/{token}/unsubscribe/"
    )


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement answer is PostgreSQL's only")
def test_the_one_statement_answer_writes_what_the_transaction_writes(alice_client):
    scores = {"trust": 3, "empathy": 9, "boundaries": 10, "collaboration": 0}
    answers = []
    for way in ("statement", "transaction"):
        _, invitation = log_session(client=alice_client)
        assert send_inline(invitation).result == "sent"
        token = token_of(mail.outbox[-1])
        if way == "statement":
            answer = services.checkin_answer(token=token, scores=scores, comment="Mejor hoy, gracias.")
            checkin = CheckIn.objects.get(pk=answer.checkin_id)
            assert (answer.client_id, answer.language) == (alice_client.pk, alice_client.language)
        else:
            found = services.invitation_for_answer(token)
            checkin = services.checkin_submit(invitation=found, token=token, scores=scores, comment="Mejor hoy, gracias.")
            checkin.refresh_from_db()
        invitation.refresh_from_db()
        flags_refresh_pending()  # which writes the answer's audit row
        event = AuditEvent.objects.get(action="checkin.submitted", object_id=str(checkin.pk))
        answers.append((invitation, checkin, event))
        # The link is used up either way.
        assert services.checkin_answer(token=token, scores=scores) is None

    def row(invitation, checkin, event):
        return {
            "invitation": (invitation.status, invitation.answered_channel, invitation.answered_at is not None),
            "checkin": {
                f.attname: getattr(checkin, f.attname) for f in CheckIn._meta.concrete_fields
                if f.attname not in ("id", "session_id", "submitted_at", "updated_at")
            },
            "event": (event.clinic_id, event.actor_id, event.object_type, event.ip, sorted(event.detail),
                      event.detail["channel"], event.detail["session_id"] == checkin.session_id,
                      event.detail["invitation_id"] == invitation.id),
        }

    by_statement, by_transaction = (row(*a) for a in answers)
    assert by_statement == by_transaction
    assert by_statement["checkin"]["comment"] == "Mejor hoy, gracias." and by_statement["checkin"]["flags_pending"]
    assert by_statement["invitation"] == (SurveyInvitation.Status.ANSWERED, "email", True)
    # The comment is stored encrypted by both.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT comment FROM {CheckIn._meta.db_table} WHERE id = %s", [answers[0][1].pk])
        assert "Mejor" not in cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_new_connection_prepares_the_lookup_again(client, sent_invitation):
    """The link's lookup is a prepared statement (config/prepared.py): after the
    connection is replaced (a reconnect, CONN_MAX_AGE) the page still opens, preparing
    the statement on the new connection in the same round trip as its first run."""
    from django.test.utils import CaptureQueriesContext

    _, token = sent_invitation
    assert client.get(f"/s/{token}/").status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert client.get(f"/s/{token}/").status_code == 200
    assert [q["sql"].split()[0] for q in again.captured_queries] == ["EXECUTE"]
    # A new connection: what was prepared on the old one is not assumed.
    connection.close()
    with CaptureQueriesContext(connection) as fresh:
        assert client.get(f"/s/{token}/").status_code == 200
    assert [q["sql"].split()[0] for q in fresh.captured_queries] == ["PREPARE"]
