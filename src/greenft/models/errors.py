"""The error every model family and checkpoint reader raises when a checkpoint cannot be used.

It lives apart from the readers so that the lowest of them (:mod:`greenft.models.torch_io`) and the highest
(the registry families) share it without importing each other; the CLI prints it as one line and exits 2.
"""

from __future__ import annotations

from greenft.errors import UserError


class CheckpointError(UserError, ValueError):
    """A checkpoint cannot be used; the message names the file and what is wrong."""


class ModelOptionError(UserError, ValueError):
    """A model option that cannot apply to the chosen model or checkpoint (e.g. ``--layers 3`` with a checkpoint
    of 5 layers); the message names the option, the value given and what the model or checkpoint has."""
