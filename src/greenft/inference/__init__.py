"""Saved models put to use: predictions, evaluation with the seed thesis' metrics, numeric precision trade-offs.

Beside :mod:`greenft.agents` (which trains and saves), below the CLI; reads saved models through
:mod:`greenft.models.saved`.
"""
