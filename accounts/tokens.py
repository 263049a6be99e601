"""Single-use links for staff who have no password yet."""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int


class StaffInviteTokenGenerator(PasswordResetTokenGenerator):
    """Django's password-reset token (spent by setting the password, since the password
    hash is part of it), with its own salt and lifetime: a new colleague invited on
    Friday should still be able to join on Monday, while a reset link stays short-lived
    (PASSWORD_RESET_TIMEOUT). The salt keeps a reset token from passing as an
    invitation and the other way round."""

    key_salt = "rapport.accounts.StaffInviteTokenGenerator"

    def check_token(self, user, token):
        # Django's check_token measures age against PASSWORD_RESET_TIMEOUT; this is the
        # same check against STAFF_INVITE_TIMEOUT.
        if not (user and token):
            return False
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        if (self._num_seconds(self._now()) - ts) > settings.STAFF_INVITE_TIMEOUT:
            return False
        return any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )


staff_invite_token_generator = StaffInviteTokenGenerator()


def staff_invite_valid_hours():
    return max(1, settings.STAFF_INVITE_TIMEOUT // 3600)
