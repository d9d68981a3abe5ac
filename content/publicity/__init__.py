"""Publicity: the article library, subscriptions to topics, and broadcast campaigns.

Plain Python: no Telegram, no aiohttp. The sender takes a `send(chat_id, text, photo)`
callable, which the bot builds on PTB's Bot and the tests on a fake.
"""
