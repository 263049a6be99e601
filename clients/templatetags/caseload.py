from django import template
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alliance.models import SCORE_FIELDS, SurveyInvitation

register = template.Library()

WIDTH, HEIGHT, PAD = 96, 24, 2


@register.simple_tag
def sparkline(checkins):
    """A tiny SVG line of the client's last check-in totals (0–40), oldest on the left,
    drawn on the server so the caseload needs no JavaScript. Its label reads the
    numbers out for screen readers."""
    totals = [c.total for c in reversed(checkins)]
    if not totals:
        return format_html('<span class="text-body-secondary small">{}</span>', _("no check-ins"))
    step = (WIDTH - 2 * PAD) / max(len(totals) - 1, 1)
    # Scaled to the client's own range (at least 8 points tall, within 0–40), so a drop
    # of a few points, which is what the flags look for, is visible at this size.
    low = max(0, min(min(totals), max(totals) - 8) - 1)
    high = min(40, max(max(totals), low + 8) + 1)

    def y(total):
        return round(HEIGHT - PAD - (total - low) / (high - low) * (HEIGHT - 2 * PAD), 1)

    points = " ".join(f"{round(PAD + i * step, 1)},{y(t)}" for i, t in enumerate(totals))
    last_x, last_y = round(PAD + (len(totals) - 1) * step, 1), y(totals[-1])
    label = ngettext(
        "Last client total out of 40: %(totals)s",
        "Last %(count)d client totals out of 40: %(totals)s",
        len(totals),
    ) % {"count": len(totals), "totals": ", ".join(str(t) for t in totals)}
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<title>{}</title>'
        '<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{}"/>'
        '<circle cx="{}" cy="{}" r="2" fill="currentColor"/>'
        "</svg>",
        WIDTH, HEIGHT, label, label, points, last_x, last_y,
    )


INVITATION_BADGES = {
    "scheduled": "text-bg-light",
    "sending": "text-bg-info",
    "sent": "text-bg-info",
    "answered": "text-bg-success",
    "expired": "text-bg-warning",
    "failed": "text-bg-danger",
    "cancelled": "text-bg-secondary",
}


@register.inclusion_tag("clients/partials/survey_state.html")
def survey_state(client, status):
    """The state of a client's last check-in invitation, or "opted out"."""
    if client.opted_out_at and not client.can_receive_surveys:
        return {"label": _("Opted out"), "badge": "text-bg-dark"}
    if not status:
        return {"label": _("No check-in yet") if client.can_receive_surveys else _("No consent"), "badge": "text-bg-light"}
    return {"label": SurveyInvitation.Status(status).label, "badge": invitation_badge(status)}


@register.filter
def invitation_badge(status):
    """The badge class of an invitation status, the same on every page that shows one."""
    return INVITATION_BADGES.get(status, "text-bg-light")


@register.filter
def attr_of(obj, name):
    """`{{ checkin|attr_of:"trust" }}`: one score of a check-in, by the name of the chart."""
    if name not in ("total", *SCORE_FIELDS):
        return ""
    return getattr(obj, name, "")


@register.simple_tag
def checkin_channels(client):
    """How this client is asked after a session, in a few words: "by email and text",
    "by text (emails stopped 3 Dec 2026)", "in session only: no consent"."""
    channels = set(client.checkin_channels)
    stopped = []
    if client.opted_out_at:
        stopped.append(_("emails stopped %(date)s") % {"date": _day(client.opted_out_at)})
    if client.sms_opted_out_at:
        stopped.append(_("texts stopped %(date)s") % {"date": _day(client.sms_opted_out_at)})
    if channels == {"email", "sms"}:
        summary = _("by email and text")
    elif channels == {"email"}:
        summary = _("by email")
    elif channels == {"sms"}:
        summary = _("by text")
    elif not client.is_active:
        summary = _("off")
    elif stopped:
        summary = _("in session only")
    elif not (client.survey_consent or client.sms_consent):
        summary = _("in session only: no consent")
    else:
        summary = _("in session only: no address or number")
    if stopped:
        return _("%(summary)s (%(stopped)s)") % {"summary": summary, "stopped": ", ".join(stopped)}
    return summary


def _day(moment):
    """A day as the page shows dates: in the current (the clinic's) time zone."""
    return date_filter(timezone.localtime(moment), "j M Y")


@register.simple_tag
def chart_table_rows(chart, rows, key):
    """The body of one chart's data table: a row per point, its date as the chart labels
    it. Built here rather than in a template loop: five charts of a year's points are
    some 260 rows, which the template language renders at several times the cost."""
    def value(scores):
        return "–" if scores is None else int(scores[key])

    # Integers and the day labels only, each escaped: plain formatting is safe here and
    # a tenth of format_html's cost a row.
    return mark_safe("\n".join(
        f'<tr><th scope="row">{escape(label)}</th><td class="text-end" data-label="Client-rated">{value(row["client"])}</td>'
        f'<td class="text-end" data-label="Therapist-rated">{value(row["therapist"])}</td></tr>'
        for label, row in zip(chart["labels"], rows)
    ))
