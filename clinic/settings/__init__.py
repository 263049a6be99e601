"""Clinic settings (/clinic/settings/)."""
