"""The hand-over lock: while the therapist's device shows a client the check-in, the
browser session can reach nothing but the hand-over pages.

The lock lives in the server-side session (the key below), so it holds for every tab of
the browser and whatever the client types in the address bar or does with the back
button: every other request is sent back to the hand-over screen (staff pages are
no-store, so the back button asks the server again and gets the same answer). It is
lifted only by the therapist's password (alliance/checkins/views.py, handover_unlock);
enough wrong passwords end the whole login instead.
"""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

HANDOVER_KEY = "rapport_handover"
UNLOCK_ATTEMPTS = 5


def handover_state(request):
    return request.session.get(HANDOVER_KEY) if hasattr(request, "session") else None


def handover_lock(request, *, invitation_id, token, language, session_id):
    request.session[HANDOVER_KEY] = {
        "invitation": invitation_id, "token": token, "language": language, "session": session_id,
        "done": False, "failures": 0,
    }


def handover_release(request):
    state = request.session.pop(HANDOVER_KEY, None)
    # A new session key: the locked session's cookie, if anyone copied it off the
    # handed-over device, is worth nothing afterwards.
    request.session.cycle_key()
    return state


class HandoverLockMiddleware:
    """Answer every request of a locked session with the hand-over screen, except the
    hand-over pages themselves, logout and static files."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if handover_state(request) is not None and not self._allowed(request.path_info):
            return redirect("handover_checkin")
        return self.get_response(request)

    @staticmethod
    def _allowed(path):
        allowed = (
            reverse("handover_checkin"), reverse("handover_thanks"), reverse("handover_unlock"), reverse("logout"),
        )
        return path in allowed or path.startswith(settings.STATIC_URL)
