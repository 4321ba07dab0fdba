"""Offline analysis of greenft runs.

greenft logs to W&B in offline mode by default, so results live in ``wandb/offline-run-*/run-*.wandb`` files
rather than on a server; :mod:`greenft.analysis.wandb_files` reads them back into plain Python and pandas.
"""

from greenft.analysis.wandb_files import OfflineRun, find_offline_runs, history_frame, iter_records, read_offline_run

__all__ = ["OfflineRun", "find_offline_runs", "history_frame", "iter_records", "read_offline_run"]
