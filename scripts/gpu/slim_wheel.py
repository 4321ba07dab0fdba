"""Rewrite a wheel in place without the files under a prefix (and without their RECORD lines).

Why: the tree that travels to the device is limited to 64 MiB, and two wheels greenft needs are mostly data it
never reads there: pycountry's translations (CodeCarbon looks countries up in English) and padelpy's Java
PaDEL-Descriptor (chemprop imports padelpy through astartes/aimsim but never runs it; the device has no Java).

Usage: python scripts/gpu/slim_wheel.py WHEEL PREFIX    (e.g. .whl/pycountry-*.whl pycountry/locales/)
"""

from __future__ import annotations

import os
import sys
import zipfile


def slim(path: str, prefix: str) -> int:
    """Drop every member under ``prefix``; returns how many were dropped."""
    out = path + ".slim"
    dropped = 0
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename.startswith(prefix):
                dropped += 1
                continue
            data = src.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = data.decode().splitlines(keepends=True)
                data = "".join(line for line in lines if not line.startswith(prefix)).encode()
            dst.writestr(info, data)
    os.replace(out, path)
    return dropped


if __name__ == "__main__":
    wheel, prefix = sys.argv[1], sys.argv[2]
    before = os.path.getsize(wheel)
    count = slim(wheel, prefix)
    print(
        f"slimmed {wheel}: {count} files under {prefix} dropped, {before / 2**20:.2f} -> "
        f"{os.path.getsize(wheel) / 2**20:.2f} MiB"
    )
