"""The error a start refuses with when the keys do not fit the database (storage/keyring.py).

Its own module, importing nothing: the console command catches it around every command, and
importing it must not load the database layer (`pension-bot --help` stays fast).
"""

from __future__ import annotations


class KeysDoNotMatchDatabase(Exception):  # noqa: N818 - the name says what happened
    """The keys protecting personal data are missing, unusable, or not the ones the database
    was written with. The message is one paragraph for an operator; it never holds key material."""
