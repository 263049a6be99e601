from django import template

from alliance.models import Flag

register = template.Library()


@register.simple_tag
def flag_responses():
    """The response choices for the acknowledge form, so partials need no view context."""
    return Flag.Response.choices
