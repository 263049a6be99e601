"""Clinic dashboards (/clinic/dashboard/, /clinic/therapists/<id>/): the figures
(selectors.py), the filters (forms.py), the pages (views.py) and CSV exports (exports.py)."""
