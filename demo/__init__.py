"""Not production: what lets the bot run with no Telegram and no data of an agency's own.

`standin/` (a local stand-in of the Telegram Bot API, with a control API for tests), `page`
(the chat page the demo serves) and `seed` (the demo's people, roster and reference faces).
The product's own packages never import it (tests/test_layers.py); `app/demo.py` and the
tests do."""
