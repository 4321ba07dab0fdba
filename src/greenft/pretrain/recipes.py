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
``dual-view``      MLM + NT-Xent + consistency (thesis 5.5)     RoBERTa 3 x 128 + GIN/GCN 3 x 128
=================  ==========================================  =========================================

``--preset gpu`` gives the published sizes: ChemBERTa's 6 layers x 768 (12 heads, max_length 512) for the
1D family (``ecfp-mlm``: the thesis's 6 x 768 at lr 1e-5) and Hu et al./MolCLR's 5 x 300 for graphs, with
larger batches; with a 250k+ corpus these are hours on a GPU, not something for a 2-core CPU.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

from pydantic import ConfigDict, Field, ValidationError, model_validator

from greenft.errors import UserError
from greenft.models.config import EncoderSize, TokenizerKind
from greenft.tracking.config import TrackingConfig


class PretrainConfigError(UserError, ValueError):
    """Pretraining settings that cannot be used; the message names the setting and the value."""


Augmentation = Literal["mask+delete", "subgraph", "mask", "delete"]
SequenceTokens = Literal["smiles", "selfies", "ecfp"]
"""dual-view: the sequence view's tokens (ecfp: the Morgan words and byte-level BPE of ``ecfp-mlm``)."""
GraphModel = Literal["gin", "gcn"]
"""dual-view: the graph view's encoder, a Hu et al. layout (what gin-contrastive / gcn-contrastive pretrain)."""
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
    # --- dual-view only (the recipe `dual-view`; refused elsewhere, left out of the other recipes' states)
    sequence_tokens: SequenceTokens = Field("smiles", description="dual-view: tokens of the sequence (RoBERTa) view")
    graph_model: GraphModel = Field("gin", description="dual-view: the graph view's encoder (Hu et al. layout)")
    graph_num_layers: int | None = Field(
        None, ge=1, le=48, description="dual-view: graph encoder layers (default: num_layers)"
    )
    graph_emb_dim: int | None = Field(
        None, ge=8, le=4096, description="dual-view: graph encoder width (default: emb_dim)"
    )
    mlm_weight: float = Field(1.0, ge=0.0, description="dual-view: weight of the masked-LM loss (sequence view)")
    contrastive_weight: float = Field(
        1.0, ge=0.0, description="dual-view: weight of the NT-Xent loss between the two augmented graph views"
    )
    consistency_weight: float = Field(
        1.0, ge=0.0, description="dual-view: weight of 2(1 - cos(h_cls, W [h_g1; h_g2])) between the two views"
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

    DUAL_VIEW_FIELDS: ClassVar[tuple[str, ...]] = (
        "sequence_tokens",
        "graph_model",
        "graph_num_layers",
        "graph_emb_dim",
        "mlm_weight",
        "contrastive_weight",
        "consistency_weight",
    )
    """dual-view's settings: left out of :meth:`result_fields` at their defaults, for the same reason."""

    RECIPE_FIELDS: ClassVar[tuple[str, ...]] = ("vocab_size", "min_frequency")
    """Settings of one recipe only (None elsewhere): left out of :meth:`result_fields` when None, so the
    fingerprints and provenance of the other recipes' runs are what they were before these fields existed."""

    @model_validator(mode="after")
    def _some_loss_weighs(self) -> PretrainSettings:
        if self.mlm_weight + self.contrastive_weight + self.consistency_weight <= 0:
            raise ValueError(
                "mlm_weight, contrastive_weight and consistency_weight are all 0: dual-view would train nothing; "
                "give at least one a positive weight"
            )
        return self

    def result_fields(self) -> dict[str, Any]:
        """The settings that decide the weights (a resumed run must match these exactly)."""
        return {
            k: v
            for k, v in self.model_dump(mode="json").items()
            if k not in self.EXECUTION_FIELDS
            and not (k in self.RECIPE_FIELDS and v is None)
            and not (k in self.DUAL_VIEW_FIELDS and v == type(self).model_fields[k].default)
        }

    @property
    def graph_sizes(self) -> tuple[int, int]:
        """dual-view: the graph encoder's (layers, width); the sequence encoder's when not given."""
        return (self.graph_num_layers or self.num_layers, self.graph_emb_dim or self.emb_dim)


@dataclass(frozen=True)
class Recipe:
    name: str
    objective: Literal["mlm", "contrastive", "dual-view"]
    description: str
    kind: TokenizerKind | None = None  # mlm: which tokens
    base_model: str | None = None  # contrastive: the registry model whose encoder and featuriser are pretrained
    defaults: Mapping[str, Any] = field(default_factory=dict)
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    fine_tune_models: tuple[str, ...] = ()
    """The registry models that fine-tune from this recipe's checkpoint (default: the recipe's own name)."""

    @property
    def models(self) -> tuple[str, ...]:
        return self.fine_tune_models or (self.name,)


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
# dual-view: the MLM's optimiser settings (the larger, more fragile model of the two); the thesis's lr 5e-3 with
# AdamW and no warm-up made its RoBERTa loss spike (its section 5.5.2 says so), so the default stays at greenft's
# MLM 5e-4 with warm-up and clipping. The gpu preset is the thesis's sizes: RoBERTa 6 x 768, GNN 5 x 300.
_DUAL_DEFAULTS: dict[str, Any] = {"batch_size": 64, "lr": 5e-4, "dropout": 0.1, "weight_decay": 0.01}
_DUAL_PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {},
    "gpu": {
        "num_layers": 6,
        "emb_dim": 768,
        "num_heads": 12,
        "max_length": 512,
        "graph_num_layers": 5,
        "graph_emb_dim": 300,
        "batch_size": 128,
        "lr": 1e-4,
    },
}

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
        Recipe(
            "dual-view",
            "dual-view",
            "RoBERTa MLM + MolCLR GNN NT-Xent + cross-view consistency",
            None,
            None,
            _DUAL_DEFAULTS,
            _DUAL_PRESETS,
            ("dual-view-both", "dual-view-seq", "dual-view-graph"),
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
    dual_view_ecfp = recipe.objective == "dual-view" and raw.get("sequence_tokens") == "ecfp"
    if dual_view_ecfp:  # the sequence view is ecfp-mlm's: its BPE settings and max_length unless given
        for key in ("vocab_size", "min_frequency", "max_length"):
            raw.setdefault(key, _ECFP_DEFAULTS[key])
    if recipe.kind != "ecfp" and not dual_view_ecfp:
        given = [k for k in PretrainSettings.RECIPE_FIELDS if raw.get(k) is not None]
        if given:
            also = " (or dual-view with sequence_tokens 'ecfp')" if recipe.objective == "dual-view" else ""
            raise PretrainConfigError(
                f"{', '.join(f'{k} = {raw[k]!r}' for k in given)}: only recipe ecfp-mlm (a BPE vocabulary) uses it"
                f"{also}; {recipe.name} builds its vocabulary from every corpus token"
            )
    try:
        settings = PretrainSettings.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(_problem(e) for e in err.errors())
        raise PretrainConfigError(f"invalid pretraining settings for {recipe.name}: {problems}") from None
    _check_dual_view_fields(recipe, settings)
    return settings


def _problem(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where} = {error.get('input')!r}: {message}" if where else message


def _check_dual_view_fields(recipe: Recipe, settings: PretrainSettings) -> None:
    """A dual-view setting on another recipe is refused (it would be silently ignored); so are sequence tokens
    this greenft has no tokenizer for (a guard kept from before ECFP tokens existed)."""
    if recipe.objective != "dual-view":
        given = [
            f"{k} = {getattr(settings, k)!r}"
            for k in PretrainSettings.DUAL_VIEW_FIELDS
            if getattr(settings, k) != PretrainSettings.model_fields[k].default
        ]
        if given:
            raise PretrainConfigError(
                f"{', '.join(given)}: a dual-view setting; recipe {recipe.name} does not use it (leave it out, or "
                "run `greenft pretrain dual-view`)"
            )
        return
    if settings.sequence_tokens not in get_args(TokenizerKind):
        raise PretrainConfigError(
            f"sequence_tokens = {settings.sequence_tokens!r}: this greenft has no tokenizer for it; use one of "
            f"{', '.join(get_args(TokenizerKind))}"
        )
