"""The one graph checkpoint loader: detect a file's format and layout, map it onto a greenft encoder, report.

Every graph model (``gin``, ``gcn``, ``gin-molclr``, ``gcn-molclr`` and greenft's pretrained ones), ``greenft
checkpoint inspect`` and pretraining read graph checkpoints here and nowhere else, so a file is accepted,
refused or labelled the same way whichever command reads it.

Users bring the encoders they already use, as the authors ship them, so greenft reads those files as they are:

* ``hu2020`` — a raw state dict from Hu et al. 2020, ``snap-stanford/pretrain-gnns`` (``model_gin/*.pth``,
  ``model_architecture/gcn_*.pth``): ``torch.save(gnn.state_dict())``. Their fine-tuned models prefix the
  encoder with ``gnn.`` and add ``graph_pred_linear`` (and ``pool`` for attention pooling): the prefix is
  stripped and the rest reported as *ignored head keys*.
* ``molclr`` — a raw state dict from MolCLR, ``yuyangw/MolCLR`` (``ckpt/pretrained_*/checkpoints/model.pth``):
  the whole model, i.e. the encoder plus the contrastive projection head ``feat_lin`` / ``out_lin`` (fine-tuned
  models: ``pred_head`` / ``pred_lin``). The head is not part of the encoder and is reported as ignored.
* ``greenft`` — greenft's own ``greenft-encoder`` format (see :mod:`greenft.models.greenft_format`), whose
  ``architecture.family`` names the registry model (``gin``, ``gcn``, ``gcn-molclr``, ``gin-molclr``).

A raw state dict may also sit inside a training checkpoint (``{"state_dict": ...}``, ``"model_state_dict"``,
``"model"``), as PyTorch Lightning and many training scripts save it; it is read from there.

The *layout* (which registry model, hence which featuriser and vocabulary) follows from the parameter names
(``gnns.<i>.mlp`` GIN; ``gnns.<i>.linear`` Hu GCN; ``gnns.<i>.weight`` MolCLR GCN) and the vocabulary sizes
(atom table 120 rows Hu / 119 MolCLR; bond table 6 / 5), per the table in :mod:`greenft.models.graph_layouts`.
When the clues disagree the format must be given.
Keys map to greenft modules by *name* — greenft's encoders use the authors' parameter names — and a load is
accepted only with zero missing, zero unexpected and zero mis-shaped encoder keys: a half-loaded encoder would
make every "pretrained vs random" comparison meaningless.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from greenft.data.featurize import NUM_ATOM_TYPES, NUM_BOND_TYPES
from greenft.data.featurize_molclr import MOLCLR_NUM_ATOM_TYPES, MOLCLR_NUM_BOND_TYPES
from greenft.models.base import count_parameters
from greenft.models.config import CHECKPOINT_FORMATS, CheckpointFormat
from greenft.models.errors import CheckpointError
from greenft.models.graph_encoder import GraphEncoder
from greenft.models.graph_layouts import LAYOUT_BY_MODEL, LAYOUTS, EncoderLayout
from greenft.models.greenft_format import GREENFT_FORMAT, GREENFT_FORMAT_VERSION
from greenft.models.torch_io import load_torch_file

_HEAD_PREFIXES: dict[str, tuple[str, ...]] = {
    "hu2020": ("graph_pred_linear.", "pool."),
    "molclr": ("feat_lin.", "out_lin.", "pred_head.", "pred_lin."),
}


class NotAnEncoderError(CheckpointError):
    """The file holds tensors, but none in a GIN or GCN encoder layout; ``reason`` says which keys are absent."""

    def __init__(self, path: Path, reason: str) -> None:
        self.reason = reason
        super().__init__(f"{path}: not a GIN/GCN encoder in the Hu et al., MolCLR or greenft layout ({reason})")


@dataclass
class DetectedCheckpoint:
    """What a checkpoint file is: its format, the layout it fits, and its tensors split into encoder and head."""

    path: Path
    format: str  # greenft | hu2020 | molclr
    format_label: str  # e.g. "hu2020 (pretrain-gnns state dict)"
    layout: EncoderLayout
    num_layers: int
    emb_dim: int
    encoder_state: dict[str, torch.Tensor]
    ignored_head_keys: list[str] = field(default_factory=list)
    file_tensors: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    format_given: bool = False


@dataclass
class LoadReport:
    """The outcome of mapping a checkpoint onto a freshly built greenft encoder (loaded only when ``ok``)."""

    detected: DetectedCheckpoint
    encoder: GraphEncoder
    loaded_keys: list[str]
    missing_keys: list[str]
    unexpected_keys: list[str]
    mismatched: list[str]  # "key: file (a, b) vs encoder (c, d)"

    @property
    def ok(self) -> bool:
        return not (self.missing_keys or self.unexpected_keys or self.mismatched)

    @property
    def encoder_parameters(self) -> int:
        return count_parameters(self.encoder)

    def problems(self, limit: int = 8) -> str:
        parts = []
        for label, keys in (
            ("missing", self.missing_keys),
            ("unexpected", self.unexpected_keys),
            ("mis-shaped", self.mismatched),
        ):
            if keys:
                parts.append(f"{len(keys)} {label} encoder key(s) {keys[:limit]}")
        return "; ".join(parts) or "none"


def _unwrap(raw: Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
    """The state dict, and the key it was saved under inside a training checkpoint (``state_dict``, ...) if any."""
    if any(isinstance(v, torch.Tensor) for v in raw.values()):
        return raw, None
    for key in ("state_dict", "model_state_dict", "model"):
        inner = raw.get(key)
        if isinstance(inner, Mapping) and any(isinstance(v, torch.Tensor) for v in inner.values()):
            return inner, key
    return raw, None


def _conv_kind(keys: Iterable[str], path: Path) -> tuple[Literal["gin", "gcn"], str]:
    kinds: set[tuple[Literal["gin", "gcn"], str]] = set()
    for key in keys:
        if re.match(r"gnns\.\d+\.mlp\.", key):
            kinds.add(("gin", "GIN layers (gnns.<i>.mlp)"))
        elif re.match(r"gnns\.\d+\.linear\.", key):
            kinds.add(("gcn", "Hu et al. GCN layers (gnns.<i>.linear)"))
        elif re.match(r"gnns\.\d+\.(weight|bias)$", key):
            kinds.add(("gcn", "MolCLR GCN layers (gnns.<i>.weight/bias)"))
    convs = {kind for kind, _ in kinds}
    if not convs:
        sample = sorted(keys)[:6]
        raise NotAnEncoderError(path, f"no gnns.<i>.mlp / gnns.<i>.linear / gnns.<i>.weight keys; keys start {sample}")
    if len(convs) > 1:
        raise CheckpointError(f"{path}: mixes GIN and GCN layer keys ({sorted(text for _, text in kinds)})")
    conv = convs.pop()
    return conv, "; ".join(sorted(text for _, text in kinds))


def _source_clues(
    tensors: Mapping[str, torch.Tensor], head_keys: Sequence[str], prefixed: bool
) -> list[tuple[str, str]]:
    """(source, why) for every hint at Hu et al. vs MolCLR in the file."""
    clues: list[tuple[str, str]] = []
    atoms = tensors.get("x_embedding1.weight")
    if atoms is not None and atoms.dim() == 2:
        rows = int(atoms.shape[0])
        if rows == NUM_ATOM_TYPES:
            clues.append(("hu2020", f"atom table x_embedding1 has {rows} rows (Hu et al.: 118 elements, other, mask)"))
        elif rows == MOLCLR_NUM_ATOM_TYPES:
            clues.append(("molclr", f"atom table x_embedding1 has {rows} rows (MolCLR: 118 elements, mask)"))
    bonds = tensors.get("gnns.0.edge_embedding1.weight")
    if bonds is not None and bonds.dim() == 2:
        rows = int(bonds.shape[0])
        if rows == NUM_BOND_TYPES:
            clues.append(("hu2020", f"bond table gnns.0.edge_embedding1 has {rows} rows (incl. self-loop and mask)"))
        elif rows == MOLCLR_NUM_BOND_TYPES:
            clues.append(("molclr", f"bond table gnns.0.edge_embedding1 has {rows} rows (incl. self-loop, no mask)"))
        if int(bonds.shape[1]) == 1:
            clues.append(("molclr", "bond embeddings are scalars (width 1), as in MolCLR's GCN"))
    if any(re.match(r"gnns\.\d+\.linear\.", k) for k in tensors):
        clues.append(("hu2020", "GCN layers named gnns.<i>.linear (pretrain-gnns)"))
    if any(re.match(r"gnns\.\d+\.weight$", k) for k in tensors):
        clues.append(("molclr", "GCN layers named gnns.<i>.weight (MolCLR)"))
    for source, prefixes in _HEAD_PREFIXES.items():
        found = sorted({k.split(".")[0] for k in head_keys if k.startswith(prefixes)})
        if found:
            clues.append((source, f"head modules {found}"))
    if prefixed:
        clues.append(("hu2020", "encoder saved under gnn. (a pretrain-gnns fine-tuned model)"))
    return clues


def _shape_of(state: Mapping[str, torch.Tensor], path: Path) -> tuple[int, int]:
    layers = {int(m.group(1)) for key in state if (m := re.match(r"gnns\.(\d+)\.", key))}
    atoms = state.get("x_embedding1.weight")
    if atoms is None or atoms.dim() != 2 or not layers:
        raise CheckpointError(f"{path}: no x_embedding1.weight / gnns.<i> tensors, cannot size the encoder")
    return max(layers) + 1, int(atoms.shape[1])


def detect_checkpoint(path: Path, fmt: CheckpointFormat | str = "auto") -> DetectedCheckpoint:
    """Read ``path`` and work out its format and layout (``fmt`` forces the format instead of detecting it)."""
    path = Path(path)
    if fmt not in CHECKPOINT_FORMATS:
        raise CheckpointError(f"checkpoint format {fmt!r} is not one of {list(CHECKPOINT_FORMATS)}")
    raw = load_torch_file(path)
    if raw.get("format") == GREENFT_FORMAT:
        return _detect_greenft(path, raw, fmt)
    if fmt == "greenft":
        raise CheckpointError(f"{path}: not a greenft checkpoint (no 'format': {GREENFT_FORMAT!r} entry)")
    state, nested_under = _unwrap(raw)
    tensors = {str(k): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{path}: holds no tensors (top-level keys {sorted(map(str, raw))[:8]})")
    prefixed = any(k.startswith("gnn.") for k in tensors)
    if prefixed:  # pretrain-gnns fine-tuned model: encoder under gnn., head beside it
        head = sorted(k for k in tensors if not k.startswith("gnn."))
        body = {k.removeprefix("gnn."): v for k, v in tensors.items() if k.startswith("gnn.")}
    else:
        all_heads = tuple(p for prefixes in _HEAD_PREFIXES.values() for p in prefixes)
        head = sorted(k for k in tensors if k.startswith(all_heads))
        body = {k: v for k, v in tensors.items() if k not in set(head)}
    conv, conv_text = _conv_kind(body, path)
    evidence = [conv_text]
    if nested_under is not None:
        evidence.append(f"state dict saved under {nested_under!r} in a training checkpoint")
    if fmt == "auto":
        clues = _source_clues(body, head, prefixed)
        sources = {source for source, _ in clues}
        evidence += [f"{why} -> {source}" for source, why in clues]
        if len(sources) != 1:
            shown = "; ".join(f"{why} -> {source}" for source, why in clues) or "no vocabulary clue"
            raise CheckpointError(
                f"{path}: cannot tell whether this is a Hu et al. (hu2020) or a MolCLR (molclr) checkpoint "
                f"({shown}); give the format explicitly (--format / model.checkpoint_format)"
            )
        source = sources.pop()
    else:
        source = fmt
        evidence.append(f"format given: {fmt}")
    layout = LAYOUTS[(source, conv)]
    num_layers, emb_dim = _shape_of(body, path)
    label = "hu2020 (pretrain-gnns state dict)" if source == "hu2020" else "molclr (MolCLR state dict)"
    return DetectedCheckpoint(
        path,
        source,
        label,
        layout,
        num_layers,
        emb_dim,
        body,
        head,
        file_tensors=len(tensors),
        evidence=evidence,
        format_given=fmt != "auto",
    )


def layout_of_state_dict(tensors: Mapping[str, torch.Tensor]) -> EncoderLayout | None:
    """The published layout a raw encoder state dict fits, or None when it is not one or the clues disagree."""
    all_heads = tuple(p for prefixes in _HEAD_PREFIXES.values() for p in prefixes)
    head = [k for k in tensors if k.startswith(all_heads)]
    body = {k: v for k, v in tensors.items() if not k.startswith(all_heads)}
    try:
        conv, _ = _conv_kind(body, Path("<state dict>"))
    except CheckpointError:
        return None
    sources = {source for source, _ in _source_clues(body, head, prefixed=False)}
    return LAYOUTS[(sources.pop(), conv)] if len(sources) == 1 else None


def _detect_greenft(path: Path, raw: Mapping[str, Any], fmt: str) -> DetectedCheckpoint:
    if fmt not in ("auto", "greenft"):
        raise CheckpointError(f"{path}: is a greenft checkpoint, not {fmt!r} (use format auto or greenft)")
    if raw.get("version") != GREENFT_FORMAT_VERSION:
        raise CheckpointError(f"{path}: greenft checkpoint version {raw.get('version')} is not supported")
    arch = raw.get("architecture") or {}
    family = arch.get("family")
    if family not in LAYOUT_BY_MODEL:
        raise CheckpointError(
            f"{path}: architecture.family {family!r} is not a graph encoder greenft knows ({sorted(LAYOUT_BY_MODEL)})"
        )
    layout = LAYOUT_BY_MODEL[family]
    featurizer = (raw.get("featurizer") or {}).get("name")
    if featurizer != layout.featurizer.name:
        raise CheckpointError(
            f"{path}: made with featurizer {featurizer!r}, but model {family!r} uses {layout.featurizer.name!r}"
        )
    state = {str(k): v for k, v in dict(raw.get("state_dict") or {}).items() if isinstance(v, torch.Tensor)}
    try:
        num_layers, emb_dim = int(arch["num_layers"]), int(arch["emb_dim"])
    except (KeyError, TypeError, ValueError):
        num_layers, emb_dim = _shape_of(state, path)
    return DetectedCheckpoint(
        path,
        "greenft",
        f"{GREENFT_FORMAT}/v{GREENFT_FORMAT_VERSION}",
        layout,
        num_layers,
        emb_dim,
        state,
        [],
        file_tensors=len(state),
        provenance=dict(raw.get("provenance") or {}),
        evidence=[f"'format': {GREENFT_FORMAT!r}, architecture.family {family!r}"],
        format_given=fmt != "auto",
    )


def map_onto_encoder(detected: DetectedCheckpoint, dropout: float = 0.0) -> LoadReport:
    """Build the layout's encoder at the file's size and load the tensors by name, when every key fits."""
    encoder = detected.layout.build(detected.num_layers, detected.emb_dim, dropout)
    expected = encoder.state_dict()
    given = detected.encoder_state
    missing = sorted(k for k in expected if k not in given)
    unexpected = sorted(k for k in given if k not in expected)
    mismatched = sorted(
        f"{k}: file {tuple(given[k].shape)} vs encoder {tuple(expected[k].shape)}"
        for k in expected
        if k in given and tuple(given[k].shape) != tuple(expected[k].shape)
    )
    loaded = sorted(k for k in expected if k in given)
    report = LoadReport(detected, encoder, loaded, missing, unexpected, mismatched)
    if report.ok:
        encoder.load_state_dict(given, strict=True)
    return report


def inspect_checkpoint(path: Path, fmt: CheckpointFormat | str = "auto") -> LoadReport:
    """Everything ``greenft checkpoint inspect`` prints: detection plus a trial load into a greenft encoder."""
    return map_onto_encoder(detect_checkpoint(path, fmt))


def require_model(detected: DetectedCheckpoint, model: str) -> DetectedCheckpoint:
    """``detected`` when it is a checkpoint of registry model ``model``; else an error naming the right model."""
    if detected.layout.model != model:
        raise CheckpointError(
            f"{detected.path}: is a {detected.layout.description} checkpoint ({detected.format_label}), which is "
            f"model {detected.layout.model!r}, not {model!r}; use --model {detected.layout.model}"
        )
    return detected


def load_encoder(path: Path, model: str, fmt: CheckpointFormat | str = "auto", dropout: float = 0.0) -> LoadReport:
    """The encoder of registry model ``model`` with the weights of ``path``; an error unless every key fits."""
    detected = require_model(detect_checkpoint(path, fmt), model)
    report = map_onto_encoder(detected, dropout)
    if not report.ok:
        raise CheckpointError(
            f"{path}: does not fit a {detected.layout.description} encoder "
            f"({detected.num_layers} layers x {detected.emb_dim}): {report.problems()}"
        )
    return report
