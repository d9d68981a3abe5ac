"""Handlers per audience. Each module has `register(application)`; the application factory
registers them in this order, then the fallbacks of `common` last."""

from bot.handlers import binding, certification, common, privacy, review, status

FEATURES = (common, binding, privacy, certification, status, review)
