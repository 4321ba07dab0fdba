"""Named pretraining recipes (what ``greenft pretrain NAME`` runs) and their settings.

Every recipe produces the checkpoint of the registry model of the same name:

=================  ==========================================  =========================================
name               objective                                    CPU default (``--preset cpu``)
=================  ==========================================  =========================================
``smiles-mlm``     masked LM over SMILES regex tokens           RoBERTa 3 x 128, 4 heads, max_length 128
``selfies-mlm``    masked LM over SELFIES symbols               RoBERTa 3 x 128, 4 heads, max_length 128
``ecfp-mlm``       masked LM over BPE pieces of ECFP words      RoBERTa 3 x 128, max_length 256, BPE 10,000
``gin-contrastive``  NT-Xent over two augmented views (MolCLR)  GIN 3 x 128 (Hu et al. layout)
``gcn-contrastive``  NT-Xent over two augmented views (MolCLR)  GCN 3 x 128 (Hu et al. layout)
=================  ==========================================  =========================================

``--preset gpu`` gives the published sizes: ChemBERTa's 6 layers x 768 (12 heads, max_length 512) for the
1D family (``ecfp-mlm``: the thesis's 6 x 768 at lr 1e-5) and Hu et al./MolCLR's 5 x 300 for graphs, with
larger batches; with a 250k+ corpus these are hours on a GPU, not something for a 2-core CPU.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, ValidationError

from greenft.errors import UserError
from greenft.models.config import EncoderSize, TokenizerKind
from greenft.tracking.config import TrackingConfig


class PretrainConfigError(UserError, ValueError):
    """Pretraining settings that cannot be used; the message names the setting and the value."""


Augmentation = Literal["mask+delete", "subgraph", "mask", "delete"]
Preset = Literal["cpu", "gpu"]
"""The presets every recipe has (a test holds the recipes to it): ``cpu`` (3 x 128), ``gpu`` (published sizes)."""


def _default_augmentations() -> list[Augmentation]:
    return ["mask+delete", "subgraph"]


class PretrainSettings(EncoderSize, TrackingConfig):
    """Everything that decides a pretraining run (the result depends on all but the execution fields).

    The encoder's size and the emission tracking are the fine-tuning configs' own fields (inherited, so both
    commands accept the same values with the same bounds); the rest is pretraining's.
    """

    model_config = ConfigDict(extra="forbid")

    corpus_size: int = Field(50_000, ge=10, description="molecules sampled from the corpus (MOSES by default)")
    corpus_seed: int = 0
    corpus_file: Path | None = Field(None, description="your own SMILES file instead of MOSES (exclusion applies)")
    epochs: int = Field(1, ge=1, description="passes over the corpus (ignored when steps is given)")
    steps: int | None = Field(None, ge=1, description="optimizer steps in total; overrides epochs")
    batch_size: int = Field(64, ge=2)
    lr: float = Field(5e-4, gt=0.0, le=1.0)
    weight_decay: float = Field(0.01, ge=0.0)
    warmup_fraction: float = Field(0.05, ge=0.0, lt=1.0, description="linear warm-up, then linear decay to 0")
    grad_clip: float = Field(1.0, gt=0.0)
    seed: int = 0
    mask_prob: float = Field(0.15, gt=0.0, lt=1.0, description="MLM: share of tokens chosen for prediction")
    temperature: float = Field(0.1, gt=0.0, description="contrastive: NT-Xent temperature")
    augmentation_rate: float = Field(0.25, gt=0.0, lt=1.0, description="contrastive: share of atoms/bonds hit")
    augmentations: list[Augmentation] = Field(default_factory=_default_augmentations)
    vocab_size: int | None = Field(
        None,
        ge=16,
        le=1_000_000,
        description="ecfp-mlm only: the byte-level BPE's vocabulary size, an upper bound incl. the 5 special tokens "
        "(default 10,000, the thesis's); other recipes refuse it",
    )
    min_frequency: int | None = Field(
        None, ge=1, description="ecfp-mlm only: a BPE merge needs a pair seen this often in the corpus (default 2)"
    )
    # --- how the run is executed, not what it computes (may differ between a run and its resumption)
    save_every: int = Field(200, ge=1, description="steps between resumable states")
    threads: int | None = Field(None, ge=1)

    EXECUTION_FIELDS: ClassVar[tuple[str, ...]] = (
        "save_every",
        "threads",
        "meter",
        "country_iso_code",
        "measure_power_secs",
    )

    RECIPE_FIELDS: ClassVar[tuple[str, ...]] = ("vocab_size", "min_frequency")
    """Settings of one recipe only (None elsewhere): left out of :meth:`result_fields` when None, so the
    fingerprints and provenance of the other recipes' runs are what they were before these fields existed."""

    def result_fields(self) -> dict[str, Any]:
        """The settings that decide the weights (a resumed run must match these exactly)."""
        return {
            k: v
            for k, v in self.model_dump(mode="json").items()
            if k not in self.EXECUTION_FIELDS and not (k in self.RECIPE_FIELDS and v is None)
        }


@dataclass(frozen=True)
class Recipe:
    name: str
    objective: Literal["mlm", "contrastive"]
    description: str
    kind: TokenizerKind | None = None  # mlm: which tokens
    base_model: str | None = None  # contrastive: the registry model whose encoder and featuriser are pretrained
    defaults: Mapping[str, Any] = field(default_factory=dict)
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


_MLM_DEFAULTS: dict[str, Any] = {"batch_size": 64, "lr": 5e-4, "dropout": 0.1, "weight_decay": 0.01}
_MLM_PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {},
    "gpu": {"num_layers": 6, "emb_dim": 768, "num_heads": 12, "max_length": 512, "batch_size": 128, "lr": 1e-4},
}
# ECFP: the BPE's size as the thesis's (vocabulary ~10k); GPU preset the thesis's RoBERTa 6 x 768 at lr 1e-5
# max_length 256: BPE pieces per molecule, median/p99 77/109 on 10k MOSES molecules, 104/336 on BBBP, 111/180 on
# Lipophilicity (docs/pretraining.md); 128 would cut 30 % of BBBP, 256 cuts 2.6 %
_ECFP_DEFAULTS: dict[str, Any] = {**_MLM_DEFAULTS, "vocab_size": 10_000, "min_frequency": 2, "max_length": 256}
_ECFP_PRESETS: dict[str, dict[str, Any]] = {"cpu": {}, "gpu": {**_MLM_PRESETS["gpu"], "lr": 1e-5}}
_GRAPH_DEFAULTS: dict[str, Any] = {"batch_size": 128, "lr": 5e-4, "dropout": 0.0, "weight_decay": 1e-5}
_GRAPH_PRESETS: dict[str, dict[str, Any]] = {"cpu": {}, "gpu": {"num_layers": 5, "emb_dim": 300, "batch_size": 512}}

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe("smiles-mlm", "mlm", "masked LM, SMILES regex tokens", "smiles", None, _MLM_DEFAULTS, _MLM_PRESETS),
        Recipe("selfies-mlm", "mlm", "masked LM, SELFIES symbols", "selfies", None, _MLM_DEFAULTS, _MLM_PRESETS),
        Recipe(
            "ecfp-mlm", "mlm", "masked LM, byte-level BPE of ECFP words", "ecfp", None, _ECFP_DEFAULTS, _ECFP_PRESETS
        ),
        Recipe(
            "gin-contrastive", "contrastive", "MolCLR-style NT-Xent, GIN", None, "gin", _GRAPH_DEFAULTS, _GRAPH_PRESETS
        ),
        Recipe(
            "gcn-contrastive", "contrastive", "MolCLR-style NT-Xent, GCN", None, "gcn", _GRAPH_DEFAULTS, _GRAPH_PRESETS
        ),
    ]
}


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise PretrainConfigError(f"unknown pretraining recipe {name!r}; known: {', '.join(sorted(RECIPES))}") from None


def make_settings(recipe: Recipe, preset: str = "cpu", **overrides: Any) -> PretrainSettings:
    """The recipe's defaults, then the preset's sizes, then explicit overrides (``None`` means not given)."""
    if preset not in recipe.presets:
        raise PretrainConfigError(f"unknown preset {preset!r} for {recipe.name}; known: {', '.join(recipe.presets)}")
    raw: dict[str, Any] = {**recipe.defaults, **recipe.presets[preset]}
    raw.update({k: v for k, v in overrides.items() if v is not None})
    if recipe.kind != "ecfp":
        given = [k for k in PretrainSettings.RECIPE_FIELDS if raw.get(k) is not None]
        if given:
            raise PretrainConfigError(
                f"{', '.join(f'{k} = {raw[k]!r}' for k in given)}: only recipe ecfp-mlm (a BPE vocabulary) uses it; "
                f"{recipe.name} builds its vocabulary from every corpus token"
            )
    try:
        return PretrainSettings.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])} = {e.get('input')!r}: {e['msg']}" for e in err.errors()
        )
        raise PretrainConfigError(f"invalid pretraining settings for {recipe.name}: {problems}") from None
