from django import template
from django.utils.formats import number_format
from django.utils.translation import pgettext

register = template.Library()


@register.filter
def pct(value):
    """0.8333 → "83%" in English, "83 %" in Spanish; None (nothing to divide) → "—"."""
    if value is None:
        return "—"
    # Translators: a percentage; write the sign as your language does ("83 %" in Spanish).
    return pgettext("percentage", "%(number)s%%") % {"number": number_format(round(100 * value), 0)}


@register.filter
def mean1(value):
    """A mean to one decimal, with the language's decimal mark: 31.5, or 31,5 in Spanish."""
    return "—" if value is None else number_format(value, 1)
