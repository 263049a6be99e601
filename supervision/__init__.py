"""The supervisor's pages: their supervisees, and each one's caseload, open flags,
calibration and what worked, read-only. Who is whose supervisee is decided in
accounts.access; every page view is audited."""
