from django import template

from alliance.flags.guidance import INTRO, options_for, sources_for
from alliance.flags.selectors import flags_for_client_page
from alliance.flags.services import NOTE_MAX

register = template.Library()


@register.simple_tag
def repair_options(kind):
    """The repair options of a flag kind for the acknowledge form, so partials need no
    view context (alliance/flags/guidance.py)."""
    return {"intro": INTRO, "options": options_for(kind), "note_max": NOTE_MAX, "sources": sources_for(kind)}


@register.simple_tag(takes_context=True)
def client_flags(context, client):
    """Flags with repair tracking for a client page whose view did not load them
    (see alliance.flags.selectors.flags_for_client_page)."""
    return flags_for_client_page(client, viewer=context.get("user"))
