"""The one error type of image building: the message says what happened and what to do."""

from __future__ import annotations


class BuildError(Exception):
    """The folder cannot become an image as asked; nothing was written."""
