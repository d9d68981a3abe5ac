"""Handlers per audience. Each module has `register(application)`; the application factory
registers them in this order, then the fallbacks of `common` last."""

from bot.handlers import binding, certification, common, employer, privacy, review, status

# employer comes before certification: a spreadsheet sent as a file is a payroll to check,
# any other file still goes to certification.
FEATURES = (common, binding, privacy, employer, certification, status, review)

from bot.handlers import publicity  # noqa: E402

FEATURES = (*FEATURES, publicity)
