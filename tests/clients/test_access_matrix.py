"""Who reaches what: every client and session URL of the caseload feature, GET and
POST, for two therapists, the clinic admin, a therapist of another clinic and an
anonymous visitor. Only alice, whose client it is, gets through to her records; a
guessed id answers 404; nothing ever answers 500."""

import pytest
from django.urls import reverse

from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

LOGIN = "login"

# (url name, takes the client's or the session's id, method) -> expected status for
# alice (her own client), bob (same clinic), carol (clinic admin), mallory (other clinic).
# POSTs carry no form data: allowed users get the form back with its errors (400) or,
# without the one-time token, a 409; either way nothing is saved.
MATRIX = {
    ("caseload", None, "get"): dict(alice=200, bob=200, carol=403, mallory=200),
    ("client_new", None, "get"): dict(alice=200, bob=200, carol=403, mallory=200),
    ("client_new", None, "post"): dict(alice=400, bob=400, carol=403, mallory=400),
    ("client_detail", "client", "get"): dict(alice=200, bob=404, carol=200, mallory=404),
    ("client_detail", "client", "post"): dict(alice=405, bob=405, carol=405, mallory=405),
    ("client_edit", "client", "get"): dict(alice=200, bob=404, carol=403, mallory=404),
    ("client_edit", "client", "post"): dict(alice=400, bob=404, carol=403, mallory=404),
    ("client_discharge", "client", "get"): dict(alice=200, bob=404, carol=403, mallory=404),
    ("client_discharge", "client", "post"): dict(alice=302, bob=404, carol=403, mallory=404),
    ("client_reactivate", "client", "get"): dict(alice=405, bob=405, carol=403, mallory=405),
    ("client_reactivate", "client", "post"): dict(alice=302, bob=404, carol=403, mallory=404),
    ("session_new", "client", "get"): dict(alice=200, bob=404, carol=403, mallory=404),
    ("session_new", "client", "post"): dict(alice=409, bob=404, carol=403, mallory=404),
    ("session_book", "client", "get"): dict(alice=200, bob=404, carol=403, mallory=404),
    ("session_book", "client", "post"): dict(alice=409, bob=404, carol=403, mallory=404),
    ("session_detail", "session", "get"): dict(alice=200, bob=404, carol=200, mallory=404),
    ("session_detail", "session", "post"): dict(alice=405, bob=405, carol=405, mallory=405),
    ("session_edit", "session", "get"): dict(alice=200, bob=404, carol=403, mallory=404),
    ("session_edit", "session", "post"): dict(alice=409, bob=404, carol=403, mallory=404),
}

CASES = [
    (name, target, method, who, expected)
    for (name, target, method), by_user in MATRIX.items()
    for who, expected in [*by_user.items(), ("anonymous", LOGIN)]
]


@pytest.mark.parametrize("name,target,method,who,expected", CASES, ids=[f"{c[3]}-{c[2]}-{c[0]}" for c in CASES])
def test_it_answers_each_user_as_expected(request, client, login, alice_client, name, target, method, who, expected):
    session = SessionFactory(client=alice_client)
    args = {"client": [alice_client.pk], "session": [session.pk], None: []}[target]
    url = reverse(name, args=args)
    if who != "anonymous":
        login(client, request.getfixturevalue(who))
    response = getattr(client, method)(url)
    if expected == LOGIN:
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    else:
        assert response.status_code == expected


def test_it_covers_every_url_of_the_feature():
    from clients.urls import urlpatterns as client_urls
    from sessions.urls import urlpatterns as session_urls

    names = {p.name for p in [*client_urls, *session_urls]}
    assert names == {name for name, _, _ in MATRIX}
