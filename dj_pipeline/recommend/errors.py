"""User-facing recommendation errors: the CLI prints their message as one line, no traceback.

They are :class:`dj_pipeline.errors.UserError` (the CLI's one-line errors, exit status 2) and
``ValueError`` (bad input to a Python call).
"""

from __future__ import annotations

from dj_pipeline.errors import UserError


class RecommendError(UserError, ValueError):
    """Bad input to the recommender (unknown goal, bad session name, unreadable file, ...)."""


class UnknownTrackError(RecommendError):
    """The current track is neither a library track id, a library path, nor a readable file."""


class EmptyLibraryError(RecommendError):
    """No analysed tracks or no index yet: there is nothing to recommend from."""
