"""Model names a config or a sweep can use, mapped to their families."""

from __future__ import annotations

from greenft.models.base import BuiltModel, ModelFamily
from greenft.models.chemprop_family import ChempropDmpnnFamily
from greenft.models.config import ModelConfig
from greenft.models.dual_view_family import dual_view_families
from greenft.models.gin_rich import RichGraphFamily
from greenft.models.graph_family import graph_families
from greenft.models.graphormer.family import GraphormerFamily
from greenft.models.names import HUB_PREFIX as HUB_PREFIX  # re-exported: they were defined here
from greenft.models.names import UnknownModelError as UnknownModelError
from greenft.models.names import unknown_model
from greenft.models.pretrained_graph import PretrainedGraphFamily
from greenft.models.schnet import SchNetFamily
from greenft.models.sequence.family import HubTransformerFamily, SequenceTransformerFamily

MODEL_FAMILIES: dict[str, ModelFamily] = {}


def register_family(family: ModelFamily) -> None:
    """Make ``family`` available under ``family.name`` (a later registration of the same name replaces it)."""
    MODEL_FAMILIES[family.name] = family


for _graph in graph_families():  # gin, gcn (Hu et al. layouts), gin-molclr, gcn-molclr
    register_family(_graph)
# 1D transformers (random init / greenft MLM-pretrained) and greenft's contrastively pretrained GNNs
for _kind in ("smiles", "selfies"):
    register_family(SequenceTransformerFamily(f"{_kind}-transformer", _kind, pretrained=False))
    register_family(SequenceTransformerFamily(f"{_kind}-mlm", _kind, pretrained=True))
# ECFP words + byte-level BPE: pretrained only (a BPE needs a corpus); its random-init control is model.random_init
register_family(SequenceTransformerFamily("ecfp-mlm", "ecfp", pretrained=True))
register_family(PretrainedGraphFamily("gin-contrastive", MODEL_FAMILIES["gin"], "MolCLR-style NT-Xent"))
register_family(PretrainedGraphFamily("gcn-contrastive", MODEL_FAMILIES["gcn"], "MolCLR-style NT-Xent"))
# random-init GIN(E) on chemprop-like features: what closes most of gin's gap to chemprop (docs/chemprop_comparison.md)
register_family(RichGraphFamily("gin-rich", "linear", "GINE on chemprop-like atom and bond features"))
register_family(ChempropDmpnnFamily())  # chemprop (an optional extra) is imported only when it trains
register_family(GraphormerFamily())  # graph transformer with Graphormer's structural encodings, random init
register_family(SchNetFamily())  # 3D: SchNet on a dataset's coordinates (qm9), random init
for _dual in dual_view_families():  # dual-view-seq, -graph, -both: halves of `greenft pretrain dual-view`
    register_family(_dual)


def known_models() -> list[str]:
    return [*sorted(MODEL_FAMILIES), f"{HUB_PREFIX}<name>"]


def get_family(name: str) -> ModelFamily:
    if name.startswith(HUB_PREFIX):
        return HubTransformerFamily(name.removeprefix(HUB_PREFIX))
    try:
        return MODEL_FAMILIES[name]
    except KeyError:
        raise unknown_model(name, MODEL_FAMILIES) from None


def build_model(config: ModelConfig, num_tasks: int) -> BuiltModel:
    """Build the model ``config.name`` for ``num_tasks`` outputs."""
    return get_family(config.name).build(config, num_tasks)
