"""Handlers per audience. Each module has `register(application)`; the application factory
registers them in this order, then the fallbacks of `common` last."""

from bot.handlers import (
    assistance,
    assisted,
    audits,
    binding,
    certification,
    check_plan,
    common,
    console_link,
    employer,
    home_visits,
    life_events,
    privacy,
    publicity,
    recovery,
    review,
    status,
    suspicions,
    training,
)

# employer comes before certification: a spreadsheet sent as a file is a payroll to check,
# any other file still goes to certification. The care conversations (home visits, in-person
# certification, life events) come before it too: a photo sent while one of them waits for
# it is theirs (a conversation takes it only in that state, so any other photo still goes on).
FEATURES = (
    common,
    binding,
    privacy,
    employer,
    home_visits,
    assisted,
    life_events,
    certification,
    status,
    review,
    audits,
    assistance,
    publicity,
    recovery,
    check_plan,
    suspicions,
    console_link,
    training,
)
