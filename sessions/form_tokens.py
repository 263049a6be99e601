"""One-time form tokens against double submits.

Each rendered form carries a fresh random token that is also remembered in the user's
browser session; a successful submit consumes it. A second submit of the same form (a
double click, a refresh, the back button) then finds its token gone and is refused
before anything is saved. Views that create rows also store the token on the row with a
unique constraint, which stops two submits that race each other.
"""

import uuid

SESSION_KEY = "form_tokens"
KEEP = 50  # Tokens of forms opened in other tabs stay valid, up to this many.


def form_token_issue(request) -> str:
    token = str(uuid.uuid4())
    tokens = [t for t in request.session.get(SESSION_KEY, []) if t != token][-(KEEP - 1):]
    request.session[SESSION_KEY] = [*tokens, token]
    return token


def form_token_is_open(request, token) -> bool:
    return bool(token) and token in request.session.get(SESSION_KEY, [])


def form_token_consume(request, token):
    request.session[SESSION_KEY] = [t for t in request.session.get(SESSION_KEY, []) if t != token]


REPLAY_MESSAGE = (
    "This form was already submitted (or it is too old), so nothing was saved this time. "
    "Check the list before entering it again."
)
