from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from alliance.models import SCORE_FIELDS

from .models import Session, SessionNote

MAX_AHEAD = timedelta(days=366)
MAX_BACK = timedelta(days=3653)
# The start time a new session's form offers: the latest half hour, as sessions start.
START_STEP_MINUTES = 30
# A booking's form offers the same time a week on, the usual rhythm of therapy.
BOOKING_AHEAD = timedelta(days=7)
# The therapist's ratings are drawn as the client's 0–10 tap targets
# (templates/partials/scale.html), plus "not rated" for a session that was not attended.
SCALE = [(str(n), str(n)) for n in range(11)]
NOT_RATED_LABEL = "Not rated"


def latest_half_hour(now, tz):
    """The most recent half hour at or before `now`, on the clinic's clock (so 14:47 in
    London is 14:30 there, whatever the server's zone)."""
    local = timezone.localtime(now, tz)
    return local.replace(minute=local.minute - local.minute % START_STEP_MINUTES, second=0, microsecond=0)

SCORE_LABELS = {
    "trust": ("Trust", "The client could trust me in this session."),
    "empathy": ("Empathy", "The client felt heard and understood."),
    "boundaries": ("Boundaries", "The session felt safe and respectful of limits."),
    "collaboration": ("Collaboration", "We worked on what the client wanted, in a way that suits them."),
}


def _score_field(name):
    label, help_text = SCORE_LABELS[name]
    return forms.IntegerField(
        label=f"{label} (0–10)",
        help_text=help_text,  # the scale (0 = not at all, 10 = completely) is said once, above the four
        required=False,
        min_value=0,
        max_value=10,
        error_messages={
            "min_value": "Scores run from 0 to 10.",
            "max_value": "Scores run from 0 to 10.",
            "invalid": "Enter a whole number from 0 to 10.",
        },
        # Rendered by the shared tap control (templates/partials/scale.html), which reads
        # the choices from here; the IntegerField keeps the messages for a value that is
        # out of range or not a number.
        widget=forms.RadioSelect(choices=[("", NOT_RATED_LABEL), *SCALE]),
    )


class SessionForm(forms.Form):
    """One page to log (or edit) a session: when, how, whether the client came, the
    private note and the therapist's own rating of the alliance."""

    date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a real date (YYYY-MM-DD)."},
    )
    start_time = forms.TimeField(
        label="Start time",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": "Enter a time as HH:MM."},
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)", initial=50, min_value=5, max_value=480,
        error_messages={"min_value": "A session lasts 5 to 480 minutes.", "max_value": "A session lasts 5 to 480 minutes."},
    )
    attendance = forms.ChoiceField(
        choices=Session.Attendance.choices, initial=Session.Attendance.ATTENDED,
        help_text="Booked until it has happened: a booked session sends no check-in.",
    )
    format = forms.ChoiceField(choices=Session.Format.choices, initial=Session.Format.IN_PERSON)
    note = forms.CharField(
        label="Private note",
        help_text=f"Only you can ever read it. Stored encrypted. Up to {SessionNote.MAX_LENGTH:,} characters.",
        required=False,
        max_length=SessionNote.MAX_LENGTH,
        error_messages={"max_length": f"A note can be at most {SessionNote.MAX_LENGTH:,} characters."},
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    trust = _score_field("trust")
    empathy = _score_field("empathy")
    boundaries = _score_field("boundaries")
    collaboration = _score_field("collaboration")
    form_token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, tz, show_note=True, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = tz
        self.now = now or timezone.now()
        if not show_note:
            # Someone else's note: the field is not even rendered, so it cannot leak or be overwritten.
            del self.fields["note"]

    @classmethod
    def initial_for_new(cls, *, tz, now=None, booking=False):
        """A new session's form: today at the latest half hour, attended; a booking's,
        the same time a week on, booked."""
        start = latest_half_hour(now or timezone.now(), tz)
        attendance = Session.Attendance.ATTENDED
        if booking:
            # Wall-clock arithmetic (same tzinfo): 14:30 stays 14:30 across a DST change.
            start, attendance = start + BOOKING_AHEAD, Session.Attendance.BOOKED
        return {"date": start.date(), "start_time": start.time(), "attendance": attendance}

    @classmethod
    def initial_for(cls, session, *, tz, note, rating):
        local = timezone.localtime(session.scheduled_start, tz)
        initial = {
            "date": local.date(), "start_time": local.time().replace(second=0, microsecond=0),
            "duration_minutes": session.duration_minutes, "attendance": session.attendance,
            "format": session.format, "note": note or "",
        }
        if rating is not None:
            initial.update({f: getattr(rating, f) for f in SCORE_FIELDS})
        return initial

    def clean(self):
        data = super().clean()
        day, at = data.get("date"), data.get("start_time")
        if day is not None and at is not None:
            start = datetime.combine(day, at).replace(tzinfo=self.tz)
            if start > self.now + MAX_AHEAD:
                self.add_error("date", "A session can be at most one year in the future.")
            elif start < self.now - MAX_BACK:
                self.add_error("date", "A session can be at most ten years in the past.")
            else:
                data["scheduled_start"] = start
        self._check_attendance_against_start(data)
        if data.get("attendance") == Session.Attendance.ATTENDED:
            for f in SCORE_FIELDS:
                if f in data and data[f] is None and f not in self.errors:
                    self.add_error(f, "Rate this from 0 to 10: the session was attended.")
        return data

    def _check_attendance_against_start(self, data):
        """Only what can be known: nobody has attended (or missed) a session that has not
        started, and a session that has started is no longer just booked."""
        start, attendance = data.get("scheduled_start"), data.get("attendance")
        if start is None or not attendance:
            return
        if start > self.now and attendance not in Session.BEFORE_START:
            label = Session.Attendance(attendance).label
            self.add_error(
                "attendance",
                f"This session has not started yet, so it cannot be marked {label.lower()}: "
                "choose Booked (or Cancelled) and record attendance once it has happened.",
            )
        elif start <= self.now and attendance == Session.Attendance.BOOKED:
            self.add_error(
                "attendance",
                "This session has already started: record whether the client came instead of Booked.",
            )

    def ratings(self):
        """(name, legend, help, choices, chosen, errors) for each of the four tap controls
        (templates/partials/scale.html); `chosen` is a string, as the radios' values are."""
        rows = []
        for name in SCORE_FIELDS:
            bound = self[name]
            value = bound.value()
            chosen = "" if value is None else str(value)
            rows.append((name, bound.label, bound.help_text, bound.field.widget.choices, chosen, bound.errors))
        return rows

    @property
    def rating(self):
        if self.cleaned_data.get("attendance") != Session.Attendance.ATTENDED:
            return None
        return {f: self.cleaned_data[f] for f in SCORE_FIELDS}
