from django import template

from alliance.models import Flag
from alliance.flags.selectors import flags_for_client_page

register = template.Library()


@register.simple_tag
def flag_responses():
    """The response choices for the acknowledge form, so partials need no view context."""
    return Flag.Response.choices


@register.simple_tag
def client_flags(client):
    """Flags with repair tracking for a client page whose view did not load them
    (two queries; see alliance.flags.selectors.flags_for_client_page)."""
    return flags_for_client_page(client)
