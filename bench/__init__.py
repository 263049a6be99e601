"""`make bench`: seeds PostgreSQL at two sizes and measures Rapport against targets.

Run as `python -m bench` (see bench/__main__.py). Each measurement runs in its own
process with DJANGO_SETTINGS_MODULE=config.settings.bench and DATABASE_URL pointing at
that size's database, and writes a JSON object the runner gathers into
bench/results.json.
"""
