"""The ``graphormer`` family: a graph transformer with Graphormer's structural encodings (Ying et al. 2021).

Layers: ``batch`` (items, padded batches, loader) < ``model`` (encoder and head) < ``family`` (the registry
family). transformers 5 no longer ships Graphormer, so the model is built here from PyTorch parts.
"""
