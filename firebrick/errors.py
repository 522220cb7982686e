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


def unknown_name(kind: str, name: str, known) -> UnknownNameError:
    """An error for an unknown name that suggests the closest known one and lists them all."""
    import difflib

    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return UnknownNameError(f"unknown {kind} {name!r}: {hint}known {kind}s: {', '.join(known)}")


class DatasetError(FirebrickError):
    """A dataset that cannot be loaded (empty folder, unreadable images...)."""


class CheckpointError(FirebrickError):
    """A checkpoint that is missing, truncated, foreign or does not match."""


class TrainingError(FirebrickError):
    """A training run that stopped before its last epoch (a data-parallel worker died)."""
