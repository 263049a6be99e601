"""The check-in's 0–10 scales are drawn once per process and kept (the cache tag in
templates/partials/scale.html). What a client sees must still be their own page: their
language, their chosen answers and errors on a re-shown form, and none of another
client's."""

import re

import pytest
from django.core.cache import caches

pytestmark = pytest.mark.django_db


def _checked(html):
    return sorted(re.findall(r'id="(\w+-\d+)" value="\d+" checked', html))


def test_kept_scales_never_carry_one_clients_answers_to_another(client, sent_invitation):
    caches["template_fragments"].clear()
    _, token = sent_invitation
    url = f"/s/{token}/"
    first = client.get(url).content.decode()
    assert _checked(first) == [] and first.count('type="radio"') == 44
    # A form with a missing answer comes back with the chosen ones and the error.
    refused = client.post(url, {"trust": "9", "empathy": "3", "boundaries": "10", "comment": ""})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert _checked(html) == ["boundaries-10", "empathy-3", "trust-9"]
    assert 'id="collaboration-error"' in html and 'id="trust-error"' not in html
    # The next page drawn for an empty form is empty again, though its scales are kept.
    again = client.get(url).content.decode()
    assert _checked(again) == [] and "-error" not in again
    assert again == first


def test_kept_scales_follow_the_clients_language(client, sent_invitation):
    invitation, token = sent_invitation
    english = client.get(f"/s/{token}/").content.decode()
    type(invitation.client).objects.filter(pk=invitation.client_id).update(language="es")
    spanish = client.get(f"/s/{token}/").content.decode()
    assert "I felt heard and understood." in english and "I felt heard and understood." not in spanish
    assert "Pude confiar en mi terapeuta en esta sesión." in spanish
