"""Refusals shared by the services that only staff may use."""

from __future__ import annotations


class NotStaff(PermissionError):
    """The Telegram account is not an active, signed-in staff member (of that region)."""
