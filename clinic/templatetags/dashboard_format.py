from django import template

register = template.Library()


@register.filter
def pct(value):
    """0.8333 → "83%"; None (nothing to divide) → "—"."""
    return "—" if value is None else f"{100 * value:.0f}%"


@register.filter
def mean1(value):
    return "—" if value is None else f"{value:.1f}"


@register.filter
def signed1(value):
    """A difference with its sign: 1.25 → "+1.3", -0.5 → "−0.5"; None → "—"."""
    if value is None:
        return "—"
    return f"+{value:.1f}" if value > 0 else (f"−{-value:.1f}" if value < 0 else "0.0")


@register.filter
def r2(value):
    """A correlation to two places; None (too few to compute) → "—"."""
    return "—" if value is None else f"{value:.2f}".replace("-", "−")


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key, [])
