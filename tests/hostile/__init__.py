"""Hostile input: a corpus of malformed files, plan-file tampering, secrets in every output."""
