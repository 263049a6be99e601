import pytest
from django.contrib.auth.models import AnonymousUser

from sessions.models import SessionNote
from sessions.selectors import note_for_author
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def noted(alice, alice_client):
    session = SessionFactory(client=alice_client)
    note = SessionNote(session=session, author=alice)
    note.text = "Between us."
    note.save()
    return session


def test_it_returns_the_text_to_the_author(alice, noted):
    assert note_for_author(alice, noted) == "Between us."


@pytest.mark.parametrize("who", ["bob", "carol", "mallory"])
def test_it_returns_nothing_to_anyone_else(request, noted, who):
    assert note_for_author(request.getfixturevalue(who), noted) is None


def test_it_returns_nothing_to_an_anonymous_visitor(noted):
    assert note_for_author(AnonymousUser(), noted) is None


def test_it_returns_nothing_when_there_is_no_note(alice, alice_client):
    assert note_for_author(alice, SessionFactory(client=alice_client)) is None


def test_its_repr_never_shows_the_text(noted):
    note = SessionNote.objects.get(session=noted)
    assert "Between" not in repr(note) and "Between" not in str(note)
