"""greenft's 1D checkpoint: a directory any transformers install can read, plus what greenft needs to trust it.

Layout (written to a temporary sibling directory, then renamed into place, so a crash never leaves half a
checkpoint where a registry name would find it)::

    checkpoint/
      config.json, model.safetensors   transformers' save_pretrained (RobertaForMaskedLM after MLM pretraining)
      greenft_tokenizer.json           greenft vocabulary: kind (smiles|selfies|ecfp), tokens (ecfp: the BPE),
                                       max_length, corpus
      tokenizer.json, tokenizer_config.json   (SMILES, ECFP) the same vocabulary as a Hugging Face fast tokenizer
                                       (ECFP: it reads the molecule's identifier words, not its SMILES)
      greenft_checkpoint.json          {"format": "greenft-sequence-encoder", "version": 1, "family": ...,
                                        "architecture": {...}, "tokenizer": {...},
                                        "provenance": {objective, corpus, steps, epochs, seed, emissions_kg,
                                                       energy_kwh, duration_s, codecarbon, date, ...}}

``RobertaModel.from_pretrained(checkpoint)`` loads the encoder (the MLM head is dropped); greenft checks that
no encoder weight is missing, because a half-loaded encoder would make "pretrained vs random" meaningless.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenft.io import read_json, write_directory_atomically
from greenft.models.errors import CheckpointError
from greenft.models.sequence.tokenizer_kinds import load_tokenizer
from greenft.models.sequence.tokenizers import SequenceTokenizer, TokenizerError

SEQUENCE_FORMAT = "greenft-sequence-encoder"
SEQUENCE_FORMAT_VERSION = 1
META_FILE = "greenft_checkpoint.json"
TOKENIZER_FILE = "greenft_tokenizer.json"  # not tokenizer.json: that name is the HF fast-tokenizer file


@dataclass
class SequenceCheckpoint:
    path: Path
    meta: dict[str, Any]
    tokenizer: SequenceTokenizer

    @property
    def provenance(self) -> dict[str, Any]:
        return dict(self.meta.get("provenance", {}))

    @property
    def format(self) -> str:
        return f"{SEQUENCE_FORMAT}/v{SEQUENCE_FORMAT_VERSION}"


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=1, default=str))


def save_sequence_checkpoint(
    model: Any,
    tokenizer: SequenceTokenizer,
    target: Path,
    family: str,
    architecture: dict[str, Any],
    provenance: dict[str, Any],
) -> Path:
    """Write ``model`` (a transformers model) + tokenizer + metadata as a greenft 1D checkpoint directory.

    SMILES and ECFP checkpoints also get the Hugging Face fast-tokenizer files, so the directory is a complete
    transformers checkpoint (``AutoTokenizer``/``AutoModel.from_pretrained(dir)``, greenft's ``hub:<dir>``).
    """
    from transformers.utils import logging as hf_logging

    # "Writing model shards" progress bars are noise inside greenft's own progress display.
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    def write(directory: Path) -> None:
        model.save_pretrained(directory)
        tokenizer.save(directory / TOKENIZER_FILE)
        if tokenizer.kind in ("smiles", "ecfp"):
            tokenizer.to_hf().save_pretrained(directory)
        write_json(
            directory / META_FILE,
            {
                "format": SEQUENCE_FORMAT,
                "version": SEQUENCE_FORMAT_VERSION,
                "family": family,
                "architecture": architecture,
                "tokenizer": {"file": TOKENIZER_FILE, **tokenizer.describe()},
                "provenance": provenance,
            },
        )

    return write_directory_atomically(target, write)


def read_sequence_checkpoint(path: Path) -> SequenceCheckpoint:
    """Check and read a greenft 1D checkpoint directory; errors name the directory and the bad file or field."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not path.is_dir():
        raise CheckpointError(
            f"{path}: a sequence checkpoint is a directory (config.json, greenft_tokenizer.json, ...)"
        )
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise CheckpointError(
            f"{path}: no {META_FILE}; not a greenft sequence checkpoint (a Hugging Face directory loads with "
            f"model 'hub:{path}')"
        )
    meta = read_json(meta_path, "checkpoint metadata", CheckpointError)
    if not isinstance(meta, dict) or meta.get("format") != SEQUENCE_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{meta_path}: format is {found!r}, expected {SEQUENCE_FORMAT!r}")
    if meta.get("version") != SEQUENCE_FORMAT_VERSION:
        raise CheckpointError(f"{meta_path}: version {meta.get('version')!r} is not supported")
    if not (path / "config.json").is_file():
        raise CheckpointError(f"{path}: config.json is missing (transformers' save_pretrained output)")
    try:
        tokenizer = load_tokenizer(path / TOKENIZER_FILE)
    except TokenizerError as err:
        raise CheckpointError(str(err)) from None
    return SequenceCheckpoint(path, meta, tokenizer)
