"""User-facing errors.

Every error a user can cause (bad config, bad file, bad argument) is raised as :class:`VjepaError` with a
one-line message that names the file, key or value and says what to do. The CLI prints it without a
traceback and exits with status 2.
"""

from __future__ import annotations


class VjepaError(Exception):
    """An error caused by user input; its message is shown to the user as is."""


class ConfigError(VjepaError):
    """An invalid configuration key, value or combination."""


class CheckpointError(VjepaError):
    """A checkpoint that cannot be read, or does not fit the model."""


class DataError(VjepaError):
    """A dataset or video that cannot be used."""


class TrainingDiverged(VjepaError):
    """The loss became NaN or infinite."""
