"""greenft's measurement and stopping inside training loops greenft does not own (issue 15).

Each integration is its own module and imports its framework itself (an optional extra: ``pip install
greenft[lightning]``), so ``import greenft.integrations`` costs nothing and needs none of them:

* :mod:`greenft.integrations.lightning`: :class:`~greenft.integrations.lightning.GreenStopping`, a
  ``lightning.pytorch`` callback.
* :mod:`greenft.integrations.transformers`: :class:`~greenft.integrations.transformers.GreenStoppingCallback`, a
  Hugging Face ``TrainerCallback`` (needs ``accelerate``: ``pip install greenft[hf]``).
* :mod:`greenft.integrations.session`: what both share (one greenft run fed one evaluation at a time).
"""
