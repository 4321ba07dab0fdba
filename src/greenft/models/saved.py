"""A fine-tuned model a user can take away: one self-describing file that rebuilds itself and predicts.

Why one file holding a header and the weights: a model is only usable with everything that turned molecules into
its inputs and its outputs back into properties (family, sizes, vocabulary, target scaler, task type), and a
user who receives the file has neither the pretrained checkpoint it started from nor the dataset. So the header
records the model section *as trained* (the checkpoint's decided sizes applied, ``checkpoint`` None), the
vocabulary of sequence models and their transformers config, and the family rebuilds the architecture from
these alone (:meth:`greenft.models.base.ModelFamily.build_for_weights`) before the weights are loaded.

The file is ``torch.save({"header": <JSON dict>, "state_dict": <tensors>})``, read back with
``torch.load(weights_only=True)``: only tensors, strings, numbers, lists and dicts, never pickled code, so a
model file from someone else is as safe to open as a checkpoint. It is written atomically
(:func:`greenft.io.atomic_save`): a reader sees no file or a whole one. Every way a file can be unusable
(missing, not a torch file, truncated, not a greenft model, a newer format, an unknown family, weights that do
not fit) is one :class:`SavedModelError` naming the path and what is wrong; the CLI prints it as one line, exit 2.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, ValidationError
from rdkit import Chem
from torch import nn

from greenft import __version__
from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.errors import UserError
from greenft.io import atomic_save
from greenft.models.base import REBUILD_EXTRA_ATTRIBUTE, REBUILD_EXTRA_KEY, ModelFamily, count_parameters
from greenft.models.config import ModelConfig
from greenft.models.errors import CheckpointError
from greenft.models.sequence.ecfp_tokenizer import EcfpTokenizer
from greenft.models.sequence.tokenizers import MolTokenizer
from greenft.models.torch_io import load_torch_file

__all__ = [
    "SAVED_MODEL_FORMAT",
    "SAVED_MODEL_VERSION",
    "Predictions",
    "SavedModel",
    "SavedModelError",
    "SavedModelHeader",
    "canonical",
    "load_saved_model",
    "rebuild_parts",
    "save_model",
    "save_state",
]

SAVED_MODEL_FORMAT = "greenft-model"
SAVED_MODEL_VERSION = 1
"""Raised when the header changes incompatibly; a file with a higher version is refused with a clear line."""

TaskTypeName = Literal["classification", "regression", "multiclass"]
Which = Literal["best", "stop"]


class SavedModelError(UserError, ValueError):
    """A saved model file cannot be used; the message (one line) names the path and what is wrong."""


class SavedModelHeader(BaseModel):
    """Everything needed to rebuild the model and to say where it came from (JSON in the file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str
    version: int
    greenft_version: str
    family: str  # registry name, e.g. "gin", "smiles-transformer"
    model: dict[str, Any]  # ModelConfig as JSON with the checkpoint's applied options, checkpoint None
    vocabulary: list[str] | None  # sequence families: the tokens in id order (None for graphs); ecfp: one entry,
    # the whole BPE tokenizer as JSON (greenft_tokenizer.json's content), since a BPE needs its merges too
    num_tasks: int
    task_names: list[str]
    task_type: TaskTypeName
    metric: str
    dataset: str
    target_mean: list[float]  # regression scaler (identity for classification)
    target_std: list[float]
    which: Which  # "best" (best validation epoch <= stop) or "stop" (the live rule's stop)
    epoch: int
    val_metric: float
    test_metric: float
    parameters: int
    emissions_kg: float  # cumulative training (fit) emissions up to `epoch`
    energy_kwh: float
    run_id: str | None
    run_path: str | None
    training_config: dict[str, Any]  # the whole TrialConfig as JSON
    classes: list[str] | None = None
    """Multiclass: the class names in output order (the model has one output per class); None otherwise."""
    grid_country_iso_code: str | None = None
    """The country the training run's meter used (its ``derived.meter.country_iso_code``), so predict, evaluate and
    quantize measure on the same grid wherever they run; None: a wall-clock meter, or saved before greenft kept it."""
    encoder_config: dict[str, Any] | None = None
    """Sequence families: the transformers config of the encoder (e.g. a pretrained checkpoint's position
    table, which the model section alone cannot tell); None for graphs."""

    @property
    def outputs(self) -> int:
        """The model's outputs: one per task, or one per class of a multiclass task."""
        return len(self.classes) if self.classes else self.num_tasks

    def model_section(self) -> ModelConfig:
        """The model section as trained, ready for the family's weights-only builder."""
        return ModelConfig.model_validate({**self.model, "checkpoint": None, "checkpoint_format": "auto"})


@dataclass
class Predictions:
    """One row per input molecule; invalid inputs are NaN rows, with the reason in ``invalid``."""

    values: np.ndarray  # (n_inputs, outputs) float64: probabilities (per task, or per class) or original units
    invalid: dict[int, str] = field(default_factory=dict)  # 0-based input position -> why


def _one_line(text: object) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def canonical(smiles: object) -> tuple[str | None, str | None]:
    """(RDKit's canonical SMILES, None) or (None, why it cannot be predicted): the trainer's own reading of a
    dataset row (greenft.data.loading: stripped, parsed, canonicalised), so a sequence model sees the same
    tokens for a molecule whichever way the user wrote it."""
    if not isinstance(smiles, str) or not smiles.strip():
        return None, "empty SMILES"
    text = smiles.strip()
    with rdkit_quiet():
        mol = Chem.MolFromSmiles(text)
    if mol is None:
        return None, f"RDKit cannot parse {text!r}"
    if mol.GetNumAtoms() == 0:
        return None, f"no atoms in {text!r}"
    return Chem.MolToSmiles(mol), None


def _model_device(model: nn.Module) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


class SavedModel:
    """A loaded model file: the header, the rebuilt model (eval mode, CPU unless moved), its family and path."""

    def __init__(self, header: SavedModelHeader, model: nn.Module, family: ModelFamily, path: Path) -> None:
        self.header = header
        self.model = model
        self.family = family
        self.path = path

    @property
    def classification(self) -> bool:
        return self.header.task_type == "classification"

    @property
    def file_bytes(self) -> int:
        """The size of the file it was loaded from (the precision table's "file size" of float32)."""
        return self.path.stat().st_size

    def to(self, device: torch.device | str) -> SavedModel:
        """Move the model (e.g. to a GPU); batches follow the model's device in :meth:`raw_outputs`."""
        self.model.to(device)
        return self

    def encode(self, smiles: Sequence[str], offset: int = 0) -> tuple[list[int], list[Any], dict[int, str]]:
        """Items for the molecules that can be predicted: (their positions in ``smiles``, the items, the invalid
        ones as position + ``offset`` -> why). Never raises for a bad molecule."""
        invalid: dict[int, str] = {}
        positions: list[int] = []
        texts: list[str] = []
        for position, raw in enumerate(smiles):
            text, reason = canonical(raw)
            if text is None:
                invalid[position + offset] = reason or "invalid SMILES"
            else:
                positions.append(position)
                texts.append(text)
        num_tasks = self.header.outputs
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a family's per-molecule fallback warning: reported by row below
                return positions, list(self.family.encode_unlabelled(texts, num_tasks)), invalid
        except Exception:  # a featuriser's failure on one molecule: find it, one by one
            pass
        kept: list[int] = []
        items: list[Any] = []
        for position, text in zip(positions, texts, strict=True):
            try:
                items.extend(self.family.encode_unlabelled([text], num_tasks))
                kept.append(position)
            except Exception as err:  # any featuriser error is this molecule's, reported by row
                invalid[position + offset] = f"cannot featurise {text!r}: {_one_line(err) or type(err).__name__}"
        return kept, items, invalid

    @torch.no_grad()
    def raw_outputs(self, items: Sequence[Any], batch_size: int = 256) -> torch.Tensor:
        """The model's outputs (logits / standardised values) for already-encoded items, float32 on the CPU."""
        self.model.eval()
        device = _model_device(self.model)
        outputs = [
            self.model(batch.to(device)).float().cpu()
            for batch in self.family.loader(list(items), batch_size, shuffle=False)
        ]
        if not outputs:
            return torch.empty((0, self.header.outputs), dtype=torch.float32)
        return torch.cat(outputs)

    def transform(self, raw: torch.Tensor) -> np.ndarray:
        """Raw outputs -> probabilities or original units, as float64 (computed in float32, as the trainer does,
        so a prediction scores exactly the metric the run logged)."""
        raw = raw.float()
        if self.header.task_type == "multiclass":
            out = torch.softmax(raw, dim=1)
        elif self.classification:
            out = torch.sigmoid(raw)
        else:
            mean = torch.tensor(self.header.target_mean, dtype=torch.float32)
            std = torch.tensor(self.header.target_std, dtype=torch.float32)
            out = raw * std + mean
        return out.numpy().astype(np.float64)

    def predict(
        self, smiles: Sequence[str], batch_size: int = 256, on_batch: Callable[[int], None] | None = None
    ) -> Predictions:
        """Predictions for every input; ``on_batch(molecules_done)`` after each batch (a progress bar)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        count = len(smiles)
        values = np.full((count, self.header.outputs), np.nan, dtype=np.float64)
        invalid: dict[int, str] = {}
        for start in range(0, count, batch_size):
            chunk = list(smiles[start : start + batch_size])
            positions, items, bad = self.encode(chunk, offset=start)
            invalid.update(bad)
            if items:
                values[[start + p for p in positions]] = self.transform(self.raw_outputs(items, batch_size))
            if on_batch is not None:
                on_batch(min(start + batch_size, count))
        return Predictions(values, dict(sorted(invalid.items())))


def rebuild_parts(model: nn.Module) -> tuple[list[str] | None, dict[str, Any] | None]:
    """What a header needs beyond the model section: (vocabulary, encoder config) of a greenft sequence model,
    (None, None) for a graph model. A hub model's tokenizer lives in its hub checkpoint, not in greenft's
    vocabulary format, so its weights alone cannot rebuild it: :class:`SavedModelError`. A model's
    ``rebuild_extra`` (:data:`~greenft.models.base.REBUILD_EXTRA_ATTRIBUTE`) joins the encoder config."""
    vocabulary, encoder_config = _sequence_parts(model)
    extra = getattr(model, REBUILD_EXTRA_ATTRIBUTE, None)
    if isinstance(extra, dict) and extra:
        encoder_config = {**(encoder_config or {}), REBUILD_EXTRA_KEY: extra}
    return vocabulary, encoder_config


def _sequence_parts(model: nn.Module) -> tuple[list[str] | None, dict[str, Any] | None]:
    adapter = getattr(model, "tokenizer", None)
    if adapter is None:
        return None, None
    tokenizer = getattr(adapter, "tokenizer", None)
    if not isinstance(tokenizer, MolTokenizer | EcfpTokenizer):
        raise SavedModelError(
            f"{type(model).__name__} with a {type(adapter).__name__} cannot be saved as a greenft model file: "
            "its tokenizer belongs to a Hugging Face checkpoint (hub models are not supported)"
        )
    encoder = getattr(model, "encoder", None)
    encoder_config = encoder.config.to_dict() if encoder is not None and hasattr(encoder, "config") else None
    return tokenizer.vocabulary_entries(), encoder_config


def save_state(path: Path, state_dict: dict[str, torch.Tensor], header: SavedModelHeader) -> Path:
    """Write a model file from a state dict (e.g. the trainer's CPU copy of an earlier epoch), atomically."""
    payload = {
        "header": header.model_dump(mode="json"),
        "state_dict": {name: value.detach().to("cpu") for name, value in state_dict.items()},
    }
    return atomic_save(Path(path), lambda handle: torch.save(payload, handle))


def save_model(path: Path, model: nn.Module, header: SavedModelHeader) -> Path:
    """Write ``model``'s weights and ``header`` as one model file, atomically."""
    return save_state(path, model.state_dict(), header)


def _describe_unreadable(path: Path, err: BaseException) -> str:
    try:
        with path.open("rb") as handle:
            start = handle.read(64)
    except OSError:
        start = b""
    # torch's own text goes on with advice (weights_only=False: unsafe for a file one cannot trust): its first
    # sentence is the fact the user needs
    why = _one_line(err).split(". ")[0].rstrip(".") or type(err).__name__
    if start.startswith(b"PK"):
        return f"{path}: truncated or corrupt greenft model file (the torch archive cannot be read: {why})"
    if start.lstrip()[:1] in (b"{", b"["):
        return f"{path}: a JSON/text file, not a greenft model file (expected a torch file written by greenft)"
    return f"{path}: not a greenft model file (not a torch zip archive; greenft writes its models with torch.save)"


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise SavedModelError(f"model file not found: {path}")
    if not path.is_file():
        raise SavedModelError(f"{path}: not a file (expected a greenft model file, e.g. model_best.pt)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's remarks on a foreign pickle protocol: the error below says it
            raw = load_torch_file(path, "greenft model file")
    except CheckpointError as err:  # the one torch.load (models.torch_io); its cause says why
        if err.__cause__ is None:  # a torch file, but not a dict
            why = _one_line(err).removeprefix(f"{path}: ")
            raise SavedModelError(f"{path}: not a greenft model file ({why})") from None
        raise SavedModelError(_describe_unreadable(path, err.__cause__)) from None
    if "header" not in raw:
        found = sorted(map(str, raw))[:5]
        raise SavedModelError(f"{path}: not a greenft model file (no 'header' entry; found {found})")
    return raw


def _header(path: Path, raw: dict[str, Any]) -> SavedModelHeader:
    meta = raw["header"]
    if not isinstance(meta, dict) or meta.get("format") != SAVED_MODEL_FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise SavedModelError(f"{path}: not a greenft model file (format {got!r}, expected {SAVED_MODEL_FORMAT!r})")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SavedModelError(
            f"{path}: model file version {version!r} is not valid (expected 1..{SAVED_MODEL_VERSION})"
        )
    if version > SAVED_MODEL_VERSION:
        raise SavedModelError(
            f"{path}: written by a newer greenft ({meta.get('greenft_version')}, model file version {version}); "
            f"this greenft {__version__} reads version {SAVED_MODEL_VERSION}: upgrade greenft"
        )
    try:
        return SavedModelHeader.model_validate(meta)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "header"
        raise SavedModelError(f"{path}: header field {where!r}: {first['msg']}") from None


def load_saved_model(path: Path | str) -> SavedModel:
    """The model in ``path``, rebuilt (random init, then its weights) in eval mode on the CPU."""
    from greenft.models.registry import get_family

    path = Path(path)
    raw = _read(path)
    header = _header(path, raw)
    state = raw.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SavedModelError(f"{path}: the 'state_dict' entry is missing or holds something other than tensors")
    try:
        family = get_family(header.family)
        config = header.model_section()
        model = family.build_for_weights(config, header.outputs, header.vocabulary, header.encoder_config)
    except (UserError, ValidationError, ValueError) as err:
        raise SavedModelError(f"{path}: cannot rebuild model {header.family!r}: {_one_line(err)}") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        detail = " ".join(_one_line(line) for line in str(err).splitlines()[1:3])
        raise SavedModelError(f"{path}: the weights do not fit model {header.family!r}: {detail}") from None
    model.eval()
    if header.parameters != count_parameters(model):
        raise SavedModelError(
            f"{path}: the header says {header.parameters} parameters, the rebuilt model has {count_parameters(model)}"
        )
    return SavedModel(header, model, family, path)
