"""The request being served, for audit rows written where no request is passed (model
signals: user changes, Django admin edits). Set by AuditContextMiddleware."""

from contextvars import ContextVar

current_request: ContextVar = ContextVar("audit_current_request", default=None)


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)
