"""Write the header and first N rows of MOSES's gzipped training split (the device's corpus source, see wheels.sh).

Usage: python scripts/gpu/moses_prefix.py SOURCE.csv.gz TARGET.csv.gz [N=100000]
"""

from __future__ import annotations

import gzip
import itertools
import sys

if __name__ == "__main__":
    source, target = sys.argv[1], sys.argv[2]
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    with gzip.open(source, "rt") as src, gzip.open(target, "wt") as dst:
        dst.writelines(itertools.islice(src, rows + 1))  # header + rows
