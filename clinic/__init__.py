"""The clinic admin's pages: dashboards and their exports (dashboards/), staff
(staff/), survey and flag settings (settings/) and clients' data rights (rights/).
An app without models of its own: it reads and writes through the other apps'
models and services."""
