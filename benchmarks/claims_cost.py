"""What a config claim costs per scored trial on each storage kind (``greenft.analysis.config_claims``).

Why: ``greenft tune`` syncs a study every 10 trials to keep storage operations off the ~2 ms replay trial; the
claim that makes the no-duplicate check exact across workers adds one storage operation per scored trial, and
this measures its price. One worker opens a fresh study on each storage given, claims N labels (all won), then
claims them again (all lost: the unique-key violation or the existing file), and prints ms per claim.

Usage::

    python benchmarks/claims_cost.py sqlite:////tmp/c.db /tmp/c/journal.log postgresql://USER:PW@HOST/DB [--n 200]

Each storage must be new (an empty database, a journal path that does not exist yet).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import optuna
from optuna.study import StudyDirection

from greenft.analysis.config_claims import open_claims
from greenft.analysis.optuna_storage import make_storage, mask_credentials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("storages", nargs="+", help="--storage values: SQLAlchemy URLs or journal file paths")
    parser.add_argument("--n", type=int, default=200, help="labels to claim (default 200)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    labels = [f"anges_a{a / 1000!r}_b0.2_w3" for a in range(1, args.n + 1)]
    out_dir = Path(tempfile.mkdtemp())
    for storage in args.storages:
        store, shown = make_storage(storage, out_dir)
        assert store is not None, "memory needs no claims to be measured"
        store.create_new_study([StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE], "claims-cost")
        claims = open_claims(storage, out_dir, store, "claims-cost", True, "benchmark", shown)
        start = time.perf_counter()
        won = sum(claims.claim(label) for label in labels)
        won_s = time.perf_counter() - start
        start = time.perf_counter()
        lost = sum(not claims.claim(label) for label in labels)
        lost_s = time.perf_counter() - start
        print(
            f"{mask_credentials(storage)}: {won} won in {won_s:.2f} s ({1000 * won_s / args.n:.1f} ms/claim), "
            f"{lost} lost in {lost_s:.2f} s ({1000 * lost_s / args.n:.1f} ms/claim)"
        )


if __name__ == "__main__":
    main()
