"""Self-supervised pretraining on the offline corpus: masked-language modelling (1D) and contrastive (2D).

Kept import-light on purpose: the model registry imports :mod:`greenft.pretrain.store` and
:mod:`greenft.pretrain.families` while :mod:`greenft.models` is still initialising, so this package must not
import the heavier pretraining modules at import time. Use the submodules directly:

* :mod:`greenft.pretrain.store`: where registry names find their checkpoints (``$GREENFT_HOME``);
* :mod:`greenft.pretrain.recipes`: the named recipes (``smiles-mlm``, ``selfies-mlm``, ``gin-contrastive``...);
* :mod:`greenft.pretrain.runner`: the resumable, emission-metered loop;
* :mod:`greenft.pretrain.mlm`, :mod:`greenft.pretrain.contrastive`: the two objectives.
"""
