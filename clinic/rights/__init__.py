"""Clients' data rights (/clinic/clients/…): export and erasure."""
