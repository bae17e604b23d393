"""Enriching what loglens keeps and sends: redaction of secrets and personal data first of all."""
