"""Handlers: privacy (being written)."""

from telegram.ext import Application


def register(application: Application) -> None:
    pass
