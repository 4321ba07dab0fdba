"""The one base of every error a user can fix: the CLI catches :class:`UserError`, prints its message as one
line and exits with code 2.

Each layer keeps its own error classes (a bad config, an unknown dataset, an unreadable checkpoint, a storage
that cannot be used, ...) beside the code that raises them; they all derive from :class:`UserError`, so a new
one is caught by the CLI without editing a hand-kept list there. Programming errors (anything else) keep their
tracebacks.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix: the message names the file, field or value and what is expected."""


class RunFailedError(Exception):
    """A run greenft cannot stand behind (its training loss or a metric became NaN or infinite): the run is
    recorded as failed, never finished, and the command prints the message as one line and exits with code 1.
    Here, beside :class:`UserError`, so every command can catch it without importing the trainer."""


class GreenftWarning(UserWarning):
    """Something greenft did other than what was asked, or a result to read with care: the CLI prints it as one
    ``warning: <message>`` line and carries on (exit code unchanged).

    Raised with :func:`warnings.warn` by the layer that knows (a model capped by its checkpoint, ...), so the
    pure code stays free of printing and a library user can turn it into an error with a warnings filter.
    """
