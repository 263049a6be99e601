from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import Clinic, User
from alliance.models import CheckIn
from clients.models import Client
from sessions.models import Session

PASSWORD = "correct-horse-battery"


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic

    name = factory.Sequence(lambda n: f"Clinic {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Sequence(lambda n: f"User {n}")
    role = User.Role.THERAPIST
    clinic = factory.SubFactory(ClinicFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    therapist = factory.SubFactory(UserFactory)
    clinic = factory.LazyAttribute(lambda o: o.therapist.clinic)
    display_name = factory.Sequence(lambda n: f"Client {n}")
    email = factory.Sequence(lambda n: f"client{n}@example.org")
    survey_consent = True
    modality = Client.Modality.CBT
    relationship_approach = Client.Approach.COLLABORATIVE


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    client = factory.SubFactory(ClientFactory)
    therapist = factory.LazyAttribute(lambda o: o.client.therapist)
    scheduled_start = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    duration_minutes = 50
    attendance = Session.Attendance.ATTENDED
    format = Session.Format.IN_PERSON


class CheckInFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CheckIn

    session = factory.SubFactory(SessionFactory)
    client = factory.LazyAttribute(lambda o: o.session.client)
    source = CheckIn.Source.CLIENT
    trust = 9
    empathy = 9
    boundaries = 9
    collaboration = 9
