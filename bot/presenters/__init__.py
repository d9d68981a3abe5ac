"""Outcomes of the services, in words: each maps a result or a state to catalog keys."""
