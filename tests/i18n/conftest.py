"""The language tests use the outbox helpers of tests/alliance (log a session, send its
invitation in this process) and the real fake-Twilio on loopback from tests/services.py."""

from tests.alliance.conftest import log_session, send_inline, sent_invitation, token_of  # noqa: F401
from tests.services import fake_twilio  # noqa: F401
