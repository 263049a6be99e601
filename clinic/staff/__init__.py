"""Staff pages (/clinic/staff/…, /clinic/join/…)."""
