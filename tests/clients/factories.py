"""Factories for the rows around a caseload that tests/factories.py does not cover."""

from datetime import timedelta

import factory
from django.utils import timezone

from alliance.checkins.invitations import new_token
from alliance.models import Flag, SurveyInvitation
from tests.factories import SessionFactory


class FlagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Flag

    client = factory.SubFactory("tests.factories.ClientFactory")
    kind = Flag.Kind.LOW_ALLIANCE
    severity = factory.LazyAttribute(lambda o: Flag.SEVERITY[o.kind])
    detail = "total 30/40"


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveyInvitation

    session = factory.SubFactory(SessionFactory)
    client = factory.LazyAttribute(lambda o: o.session.client)
    token_hash = factory.LazyFunction(lambda: new_token()[1])
    status = SurveyInvitation.Status.SENT
    due_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=20))
