"""Errors that a user can cause and fix.

The command line prints these as one line and exits non-zero, without a
traceback; anything else is a bug and keeps its traceback.
"""


class FirebrickError(Exception):
    """Base of all user-facing errors: the message names the problem and the fix."""


class SpecError(FirebrickError, ValueError):
    """Metaparameters or a network description that give no valid network."""


class UnknownNameError(FirebrickError, KeyError):
    """A model, dataset or board name that is not known."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DatasetError(FirebrickError):
    """A dataset that cannot be loaded (empty folder, unreadable images...)."""


class CheckpointError(FirebrickError):
    """A checkpoint that is missing, truncated, foreign or does not match."""
