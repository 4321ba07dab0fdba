"""Where the embedded datasets live: data files inside installed PyPI packages, read by path.

Several of those packages cannot be imported here (their own dependencies are missing or broken) and some
install a top-level ``tests`` package that would shadow ours, so we never import them: we ask importlib
where the package *would* be and read the data file from there.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from greenft.errors import UserError

MOSES_PACKAGE = "moses"
MOSES_INSTALL_HINT = "pip install --no-deps molsets"
"""The PyPI package ``molsets`` ships MOSES (import name ``moses``): the pretraining corpus and the descriptor sets."""


class MissingDataPackageError(UserError, RuntimeError):
    """A dataset's source package is not installed; the message says how to install it."""


def package_data_dir(package: str, install_hint: str) -> Path:
    """The directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise MissingDataPackageError(f"the data package {package!r} is not installed; install it with: {install_hint}")
    return Path(locations[0])
