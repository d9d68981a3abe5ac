"""A local stand-in for the Telegram Bot API, for end-to-end tests and the demo page.

The real python-telegram-bot ``Application`` talks to it through ``base_url`` /
``base_file_url``; tests and the demo act as the Telegram user through ``/control/...``.
See ``standin/README.md``.
"""

from demo.standin.client import StandinClient
from demo.standin.server import RunningStandin, add_standin_routes, create_app, running_standin
from demo.standin.state import StandinState

__all__ = [
    "RunningStandin",
    "StandinClient",
    "StandinState",
    "add_standin_routes",
    "create_app",
    "running_standin",
]
