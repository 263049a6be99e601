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
    return "—" if value is None else number_format(round(value, 1), 1)


@register.filter
def signed1(value):
    """A difference with its sign and the language's decimal mark: 1.25 → "+1.3",
    -0.5 → "−0.5"; None → "—"."""
    if value is None:
        return "—"
    if value > 0:
        return f"+{number_format(round(value, 1), 1)}"
    return f"−{number_format(round(-value, 1), 1)}" if value < 0 else number_format(0, 1)


@register.filter
def r2(value):
    """A correlation to two places; None (too few to compute) → "—"."""
    return "—" if value is None else number_format(round(value, 2), 2).replace("-", "−")


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key, [])
