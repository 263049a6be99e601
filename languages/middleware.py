"""Which language a page is written in.

Staff pages follow the account's language (User.language), or the clinic's
(Clinic.language) when the account has none: never the browser's Accept-Language, so a
clinic in Madrid sees Spanish on a borrowed English laptop. A client's pages ignore
this: they are rendered under `translation.override(client.language)`
(alliance/checkins/views.py), whatever the browser says. A visitor nobody knows (the
login page, a check-in link that no longer works) gets the browser's language among
those Rapport speaks, else English.
"""

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers


def staff_language(user):
    """The language of `user`'s pages: their own choice, else their clinic's."""
    codes = {code for code, _name in settings.STAFF_LANGUAGES}
    for choice in (user.language, user.clinic.language if user.clinic_id else ""):
        if choice in codes:
            return choice
    return settings.LANGUAGE_CODE


class StaffLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = staff_language(user)
            negotiated = False
        else:
            language = translation.get_language_from_request(request, check_path=False)
            negotiated = True
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = self.get_response(request)
        if negotiated:
            patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", language)
        return response
