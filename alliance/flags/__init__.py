"""Flags: the rules that raise and clear them (rules.py), the therapist's acknowledgement
and response (services.py), repair tracking and the needs-attention list (selectors.py),
and their pages (/flags/…, /attention/)."""
