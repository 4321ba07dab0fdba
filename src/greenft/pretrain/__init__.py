"""Self-supervised pretraining on the offline corpus: masked LM (1D), contrastive (2D), both at once (dual-view).

Pretraining sits above :mod:`greenft.models`: it builds encoders and writes checkpoints through models'
own code (the checkpoint paths in :mod:`greenft.models.checkpoint_paths`, the graph checkpoint directory in
:mod:`greenft.models.pretrained_graph`), and models never import it. Use the submodules directly:

* :mod:`greenft.pretrain.recipes`: the named recipes (``smiles-mlm``, ``ecfp-mlm``, ``gin-contrastive``...);
* :mod:`greenft.pretrain.runner`: the resumable, emission-metered loop;
* :mod:`greenft.pretrain.mlm`, :mod:`greenft.pretrain.contrastive`: the two objectives;
* :mod:`greenft.pretrain.dual_view`: both at once on the same molecules, plus a consistency loss between them.
"""
