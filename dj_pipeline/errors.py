"""Errors a user can cause and fix (bad path, unknown track, empty library): shown as one line, no traceback."""


class UserError(Exception):
    """A problem with the user's input; the CLI prints ``str(err)`` and exits with status 2."""
