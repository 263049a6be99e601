from django import template

register = template.Library()


@register.filter
def pct(value):
    """0.8333 → "83%"; None (nothing to divide) → "—"."""
    return "—" if value is None else f"{100 * value:.0f}%"


@register.filter
def mean1(value):
    return "—" if value is None else f"{value:.1f}"
