import pytest
from django.db import IntegrityError

from accounts.models import Clinic, User

pytestmark = pytest.mark.django_db


def test_it_stores_emails_in_lower_case_and_unique(clinic):
    User.objects.create_user("Dana@Example.com", "x-password-1", full_name="Dana", clinic=clinic)
    assert User.objects.get_by_natural_key("DANA@example.com").email == "dana@example.com"
    with pytest.raises(IntegrityError):
        User.objects.create_user("dana@EXAMPLE.com", "x-password-1", full_name="Dana 2", clinic=clinic)


def test_clinic_defaults_are_the_documented_ones():
    clinic = Clinic.objects.create(name="Defaults")
    assert (clinic.survey_delay_hours, clinic.reminder_after_hours, clinic.expiry_days) == (1, 48, 7)
    assert (clinic.low_total_below, clinic.low_dimension_below, clinic.drop_points) == (36, 7, 3)
    assert (clinic.declining_run, clinic.discrepancy_points, clinic.no_feedback_expired) == (3, 6, 2)
    assert (clinic.attendance_missed, clinic.attendance_window, clinic.max_send_attempts) == (2, 5, 5)


def test_the_database_rejects_a_survey_delay_over_72_hours():
    with pytest.raises(IntegrityError):
        Clinic.objects.create(name="Bad", survey_delay_hours=73)
