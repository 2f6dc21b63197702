"""Errors the store raises; each message is one line a user can act on."""


class StoreUnavailable(Exception):
    """The configured database cannot be reached or opened."""
