"""greenft's run-time dependency closure, less what the device machine already has: one ``name==version`` a line.

Why from installed metadata rather than a resolver: the device has no network, so what travels must be exactly
the versions this checkout is tested with (the main venv's), and importlib.metadata of that venv knows them.
Markers are evaluated for the device (CPython 3.12, Linux x86-64), not for this interpreter, so a requirement
such as ``tomli; python_version < "3.11"`` is judged as it would be there. Extras are followed only where the
requirement names them (``pkg[extra]``) or where greenft's own extras are asked for on the command line.

Usage (run with the venv whose versions are wanted)::

    python scripts/gpu/closure.py --device-packages scripts/gpu/device_packages.txt \
        [--extra moleculenet] [--add sweeps] [--skip wandb] [--skip-file scripts/gpu/leave_out.txt] [--explain]
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import sys
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

DEVICE_ENVIRONMENT = {
    **default_environment(),
    "python_version": "3.12",
    "python_full_version": "3.12.3",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
}


def read_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            names.add(canonicalize_name(text))
    return names


def applies(requirement: Requirement, extras: set[str]) -> bool:
    """Whether a requirement is needed on the device with these extras of its owner."""
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**DEVICE_ENVIRONMENT, "extra": extra}) for extra in (extras or {""}) | {""})


def closure(
    root: str, root_extras: set[str], add: list[str], device: set[str], skip: set[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(name -> version to carry, name -> why it was left out) over the installed distributions."""
    carry: dict[str, str] = {}
    left: dict[str, str] = {}
    queue: list[tuple[str, set[str], str]] = [(root, root_extras, "root")]
    queue += [(name, set(), "--add") for name in add]
    seen: dict[str, set[str]] = {}
    while queue:
        name, extras, parent = queue.pop()
        key = canonicalize_name(name)
        if key in seen and extras <= seen[key]:
            continue
        seen[key] = seen.get(key, set()) | extras
        if key in device and key != canonicalize_name(root):
            left[key] = "on the device"
            continue
        if key in skip:
            left[key] = "--skip"
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            left[key] = f"not installed here (needed by {parent})"
            continue
        if key != canonicalize_name(root):
            carry[key] = dist.version
        for text in dist.requires or []:
            requirement = Requirement(text)
            if applies(requirement, extras):
                queue.append((requirement.name, set(requirement.extras), key))
    return carry, left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="greenft")
    parser.add_argument("--device-packages", type=Path, required=True)
    parser.add_argument("--extra", action="append", default=[], help="an extra of the root to follow (repeat)")
    parser.add_argument("--add", action="append", default=[], help="also carry this installed package (repeat)")
    parser.add_argument("--skip", action="append", default=[], help="leave this package out (repeat)")
    parser.add_argument("--skip-file", type=Path, action="append", default=[], help="names to leave out, one a line")
    parser.add_argument("--explain", action="store_true", help="print what was left out and why, on stderr")
    args = parser.parse_args()
    device = read_names(args.device_packages)
    skip = {canonicalize_name(s) for s in args.skip}.union(*(read_names(path) for path in args.skip_file))
    carry, left = closure(args.root, set(args.extra), args.add, device, skip)
    for name in sorted(carry):
        print(f"{name}=={carry[name]}")
    if args.explain:
        for name in sorted(left):
            print(f"left out: {name} ({left[name]})", file=sys.stderr)


if __name__ == "__main__":
    main()
