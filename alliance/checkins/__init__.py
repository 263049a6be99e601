"""The check-in's travel: a session's invitation, the outbox that sends it, the email,
the client's pages (/s/…) and their words, and the development outbox (/dev/outbox/)."""
