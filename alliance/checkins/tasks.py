"""Celery tasks of the survey outbox. Thin on purpose: load by id, call the service in
alliance/checkins/outbox.py, retry when it says so. Arguments are ids only; the database holds
the state, so a task delivered twice, late or after a crash does no harm (see the
docstring of alliance/checkins/outbox.py)."""

from celery import shared_task
from django.conf import settings

from . import outbox

# Both send tasks must survive a worker dying mid-run: acknowledged only after they
# ran, handed back if the worker is lost. These repeat the settings on purpose, so a
# change of global defaults cannot quietly weaken them.
SEND_OPTIONS = dict(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None, ignore_result=True)


def _sweep_again_if_full(task, claimed):
    """Beat runs each sweep once a minute. A full batch means more are due: the sweep
    queues itself again at once, so a backlog (a morning's sessions, an outage) drains
    at the workers' speed rather than one batch a minute, while each claim stays one
    short transaction."""
    if len(claimed) >= settings.SURVEY_DISPATCH_BATCH:
        task.delay()
    return len(claimed)


# Each task keeps the name it had before the check-in code moved into this package
# (Celery names tasks after their module by default), so beat schedules and messages
# queued by an older release still find them.
@shared_task(name="alliance.tasks.dispatch_due_invitations", ignore_result=True)
def dispatch_due_invitations():
    return _sweep_again_if_full(dispatch_due_invitations, outbox.invitations_dispatch_due())


@shared_task(name="alliance.tasks.send_due_reminders", ignore_result=True)
def send_due_reminders():
    return _sweep_again_if_full(send_due_reminders, outbox.invitations_remind_due())


@shared_task(name="alliance.tasks.expire_invitations", ignore_result=True)
def expire_invitations():
    return outbox.invitations_expire()


@shared_task(name=outbox.SEND_INVITATION_TASK, **SEND_OPTIONS)
def send_invitation(self, invitation_id):
    # One row a task, as sweeps queued them before batches; kept so messages already
    # queued by an older release still run.
    # The task id is the claim the sweep wrote on the row; retries keep it.
    outcome = outbox.invitation_send(invitation_id=invitation_id, claim_id=self.request.id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.result


@shared_task(name=outbox.SEND_INVITATIONS_TASK, **SEND_OPTIONS)
def send_invitations(self, claims):
    # [[invitation id, claim id], ...] as the sweep claimed them; the rows that ask for
    # a retry are queued again, after their backoff, as a batch of their own.
    outcomes = outbox.invitations_send([tuple(pair) for pair in claims])
    outbox.enqueue_retries(claims, outcomes)
    return len(outcomes)


@shared_task(name=outbox.SEND_REMINDER_TASK, **SEND_OPTIONS)
def send_reminder(self, invitation_id):
    outcome = outbox.invitation_send_reminder(invitation_id=invitation_id, retries=self.request.retries)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.result
