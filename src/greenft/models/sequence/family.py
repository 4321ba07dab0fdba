"""The 1D model families: SMILES/SELFIES/ECFP transformers (random or pretrained) and Hugging Face hub models.

Registry names:

* ``smiles-transformer`` / ``selfies-transformer``: random init, greenft's built-in base vocabulary, sizes from
  the model config (3 layers x 128 wide, 4 heads, max_length 128 by default: CPU-friendly);
* ``smiles-mlm`` / ``selfies-mlm``: the encoder ``greenft pretrain NAME`` made (default location, see
  :mod:`greenft.models.checkpoint_paths`, or ``model.checkpoint``), its architecture and vocabulary win over the sizes;
  ``model.random_init: true`` keeps that architecture and vocabulary but starts from random weights, which
  is the control arm of a pretrained-vs-random comparison;
* ``ecfp-mlm``: the same over Morgan identifier words cut by the checkpoint's byte-level BPE
  (``greenft pretrain ecfp-mlm``). There is no ``ecfp-transformer``: a BPE vocabulary only exists once trained on
  a corpus, so the random-init control is ``ecfp-mlm`` with ``model.random_init: true`` (the checkpoint's BPE and
  architecture, random weights), and without a checkpoint the model says to run ``greenft pretrain ecfp-mlm``;
* ``hub:<name or directory>``: any transformers checkpoint through ``AutoTokenizer``/``AutoModel``, e.g.
  ``hub:seyonec/ChemBERTa-zinc-base-v1`` on a box that reaches the hub. With ``HF_HUB_OFFLINE=1`` (or
  ``TRANSFORMERS_OFFLINE=1``) nothing touches the network and only the local HF cache is used.

transformers is imported only when a model is built (it costs seconds), so ``greenft --help`` stays fast.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from greenft.models.applied import architecture_applied, default_of, options_of_other_families
from greenft.models.base import BuiltModel, ModelFamily, count_parameters
from greenft.models.checkpoint_paths import (
    checkpoint_info,
    default_checkpoint_dir,
    missing_checkpoint_error,
    resolve_checkpoint_dir,
)
from greenft.models.config import ModelConfig
from greenft.models.errors import CheckpointError
from greenft.models.sequence.batch import SequenceItem, SequenceLoader
from greenft.models.sequence.tokenizer_kinds import tokenizer_from_entries
from greenft.models.sequence.tokenizers import (
    UNK,
    MolTokenizer,
    SequenceTokenizer,
    TokenizerKind,
    split_molecule,
)


class HubModelError(CheckpointError):
    """A ``hub:<name>`` model cannot be loaded (offline, unknown name, no tokenizer); says what to do instead."""


def _quiet_transformers() -> None:
    """No load reports or progress bars from transformers inside greenft's own display (errors still raise)."""
    from transformers.utils import logging as hf_logging

    logging.getLogger("transformers").setLevel(logging.ERROR)
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def encode_sequences(smiles: list[str], labels: np.ndarray, kind: TokenizerKind | None) -> list[SequenceItem]:
    """One item per molecule with its token strings (``kind`` None: text only, the hub tokenizer splits)."""
    y = torch.tensor(labels, dtype=torch.float32)
    items = []
    failed = []
    for index, text in enumerate(smiles):
        tokens: tuple[str, ...] = ()
        if kind is not None:
            try:
                tokens = tuple(split_molecule(text, kind))
            except ValueError:
                tokens = (UNK,)
                failed.append(text)
        items.append(SequenceItem(text, tokens, y[index : index + 1]))
    if failed:
        warnings.warn(
            f"{len(failed)} molecule(s) could not be written as {kind} and are a single <unk> token, e.g. {failed[:3]}",
            stacklevel=2,
        )
    return items


class SequenceTransformerFamily(ModelFamily):
    """A RoBERTa-style encoder over SMILES or SELFIES tokens; random init or greenft-pretrained."""

    def __init__(self, name: str, kind: TokenizerKind, pretrained: bool) -> None:
        self.name = name
        self.kind = kind
        self.pretrained = pretrained
        what = "masked-LM-pretrained (greenft pretrain)" if pretrained else "randomly initialised"
        self.description = f"RoBERTa-style transformer over {kind.upper()} tokens, {what}"

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[SequenceItem]:
        return encode_sequences(smiles, labels, self.kind)

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        return SequenceLoader(items, batch_size, shuffle, generator)

    def encode_unlabelled(self, smiles: list[str], num_tasks: int) -> Sequence[SequenceItem]:
        """Items for inference; unlike :meth:`encode` (a training set keeps every row, as one ``<unk>``), a
        molecule that cannot be written as tokens of this kind is a ValueError, so a prediction reports it."""
        y = torch.full((1, num_tasks), float("nan"))
        return [SequenceItem(text, tuple(split_molecule(text, self.kind)), y) for text in smiles]

    def build_for_weights(
        self,
        config: ModelConfig,
        num_tasks: int,
        vocabulary: list[str] | None,
        encoder_config: dict[str, Any] | None,
    ) -> nn.Module:
        """The transformer of a saved model: its vocabulary (ids as trained) and its transformers config (the
        checkpoint's, e.g. its position table, which the model section alone cannot tell)."""
        from transformers import RobertaConfig, RobertaModel

        from greenft.models.sequence.transformer import (
            GreenftBatchTokenizer,
            SequencePropertyModel,
            model_roberta_config,
        )

        _quiet_transformers()
        if vocabulary is None:
            raise CheckpointError(f"model {self.name!r} needs its vocabulary to be rebuilt; the saved file has none")
        tokenizer = tokenizer_from_entries(self.kind, vocabulary, config.max_length)
        if encoder_config is not None:
            rcfg = RobertaConfig.from_dict(encoder_config)
        else:
            rcfg = model_roberta_config(tokenizer.vocab_size, config)
        encoder = RobertaModel(rcfg, add_pooling_layer=False)
        return SequencePropertyModel(
            encoder, GreenftBatchTokenizer(tokenizer), num_tasks, config.pooling, config.dropout
        )

    def _checkpoint_path(self, config: ModelConfig) -> Path | None:
        if config.checkpoint is not None:
            return resolve_checkpoint_dir(config.checkpoint)
        if not self.pretrained:
            return None
        path = default_checkpoint_dir(self.name)
        if not path.is_dir():
            raise missing_checkpoint_error(self.name, path)
        return path

    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        from transformers import RobertaConfig, RobertaModel

        from greenft.models.sequence.checkpoint import read_sequence_checkpoint
        from greenft.models.sequence.transformer import (
            GreenftBatchTokenizer,
            SequencePropertyModel,
            model_roberta_config,
        )

        _quiet_transformers()
        options_of_other_families(config, self.name, graph=False, has_checkpoint=False)
        info: dict[str, Any] = {"family": self.name, "architecture": "roberta"}
        applied: dict[str, Any] = {}
        path = self._checkpoint_path(config)
        tokenizer: SequenceTokenizer
        if path is None:
            if self.kind == "ecfp":  # a BPE vocabulary needs a corpus: see the module docstring
                raise missing_checkpoint_error("ecfp-mlm", default_checkpoint_dir("ecfp-mlm"))
            tokenizer = MolTokenizer.base(self.kind, config.max_length)
            try:
                rcfg = model_roberta_config(tokenizer.vocab_size, config)
            except ValueError as err:
                raise CheckpointError(str(err)) from None
            encoder = RobertaModel(rcfg, add_pooling_layer=False)
            init = "random"
        else:
            checkpoint = read_sequence_checkpoint(path)
            if checkpoint.tokenizer.kind != self.kind:
                raise CheckpointError(
                    f"{path}: the checkpoint tokenizes {checkpoint.tokenizer.kind.upper()}, but model {self.name!r} "
                    f"reads {self.kind.upper()}; use model '{checkpoint.tokenizer.kind}-mlm' with this checkpoint"
                )
            tokenizer = checkpoint.tokenizer
            longest = tokenizer.max_length
            tokenizer.max_length = min(tokenizer.max_length, config.max_length)
            dropout = config.dropout
            if config.random_init:
                rcfg = RobertaConfig.from_pretrained(
                    path, local_files_only=True, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout
                )
                encoder = RobertaModel(rcfg, add_pooling_layer=False)
                init = "random"
                info["architecture_from"] = str(path)
            else:
                loaded = RobertaModel.from_pretrained(
                    path,
                    add_pooling_layer=False,
                    local_files_only=True,
                    output_loading_info=True,
                    hidden_dropout_prob=dropout,
                    attention_probs_dropout_prob=dropout,
                )
                encoder, loading = cast(tuple[RobertaModel, dict[str, list[str]]], loaded)
                missing = [k for k in loading.get("missing_keys", []) if not k.startswith("pooler.")]
                if missing:
                    raise CheckpointError(f"{path}: encoder weights missing from the checkpoint: {sorted(missing)[:8]}")
                init = f"pretrained:{path}"
                info.update(checkpoint_info(path, checkpoint.format, checkpoint.provenance))
            rcfg = encoder.config
            sizes = {
                "num_layers": int(rcfg.num_hidden_layers),
                "emb_dim": int(rcfg.hidden_size),
                "num_heads": int(rcfg.num_attention_heads),
            }
            applied = architecture_applied(config, f"checkpoint {path}", sizes, max_length=longest)
            if self.kind == "ecfp" and config.max_length == default_of("max_length") and longest > config.max_length:
                # ECFP pieces run longer than SMILES tokens (BBBP median 104, p99 336; docs/models.md): the model
                # section's default 128 would cut 30 % of BBBP, so it means "the checkpoint's" here, recorded
                tokenizer.max_length = applied["max_length"] = longest
        model = SequencePropertyModel(
            encoder, GreenftBatchTokenizer(tokenizer), num_tasks, config.pooling, config.dropout
        )
        info.update(
            init=init,
            num_layers=int(rcfg.num_hidden_layers),
            emb_dim=int(rcfg.hidden_size),
            num_heads=int(rcfg.num_attention_heads),
            max_length=tokenizer.max_length,
            tokenizer=tokenizer.describe(),
            parameters=count_parameters(model),
        )
        return BuiltModel(model, init, info, applied)


def _greenft_tokenizer_kind(directory: Path) -> str | None:
    """The kind in a directory's greenft_tokenizer.json (None: no such file, or not readable as one)."""
    try:
        raw = json.loads((directory / "greenft_tokenizer.json").read_text())
    except (OSError, ValueError):
        return None
    return str(raw.get("kind")) if isinstance(raw, dict) else None


def hub_offline() -> bool:
    """True when the user asked transformers / huggingface_hub to stay off the network."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(flag.strip().lower() in {"1", "true", "yes", "on"} for flag in flags)


class HubTransformerFamily(ModelFamily):
    """``hub:<name>``: a transformers checkpoint (hub name or local directory) with its own tokenizer."""

    def __init__(self, hub_name: str) -> None:
        if not hub_name:
            raise HubModelError("model 'hub:' needs a name, e.g. hub:seyonec/ChemBERTa-zinc-base-v1 or hub:/path/dir")
        self.hub_name = hub_name
        self.name = f"hub:{hub_name}"
        self.description = f"Hugging Face checkpoint {hub_name} (AutoModel + AutoTokenizer), mean-pooled head"

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[SequenceItem]:
        return encode_sequences(smiles, labels, None)

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        return SequenceLoader(items, batch_size, shuffle, generator)

    def _error(self, err: BaseException, offline: bool) -> HubModelError:
        why = (
            "HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE is set and it is not in the local Hugging Face cache"
            if offline
            else "the hub is unreachable, or the name or directory does not exist"
        )
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return HubModelError(
            f"cannot load model {self.name!r}: {why} ({first}). Without the hub, pretrain a SMILES transformer "
            "locally with `greenft pretrain smiles-mlm` and train with --model smiles-mlm"
        )

    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        from greenft.models.sequence.transformer import HubBatchTokenizer, SequencePropertyModel

        _quiet_transformers()
        options_of_other_families(config, self.name, graph=False, has_checkpoint=False)
        offline = hub_offline()
        local_dir = Path(self.hub_name).is_dir()
        if local_dir and _greenft_tokenizer_kind(Path(self.hub_name)) == "ecfp":
            # its HF tokenizer reads ECFP words, and hub models feed SMILES: every id would be silently wrong
            raise HubModelError(
                f"{self.hub_name} is an ecfp-mlm checkpoint (its tokenizer reads ECFP words, not SMILES); "
                f"train it with --model ecfp-mlm --checkpoint {self.hub_name}"
            )
        kwargs: dict[str, Any] = {"local_files_only": offline and not local_dir}
        try:
            hf_tokenizer = AutoTokenizer.from_pretrained(self.hub_name, **kwargs)
            overrides = {"hidden_dropout_prob": config.dropout, "attention_probs_dropout_prob": config.dropout}
            if config.random_init:
                hf_config = AutoConfig.from_pretrained(self.hub_name, **kwargs, **overrides)
                encoder = AutoModel.from_config(hf_config)  # type: ignore[no-untyped-call]
            else:
                encoder = AutoModel.from_pretrained(self.hub_name, **kwargs, **overrides)
        except (OSError, ValueError, KeyError) as err:
            raise self._error(err, offline) from None
        limit = int(getattr(hf_tokenizer, "model_max_length", config.max_length) or config.max_length)
        max_length = min(config.max_length, limit)
        hf_sizes = {
            "num_layers": int(getattr(encoder.config, "num_hidden_layers", 0)),
            "emb_dim": int(getattr(encoder.config, "hidden_size", 0)),
            "num_heads": int(getattr(encoder.config, "num_attention_heads", 0)),
        }
        sizes = {name: value for name, value in hf_sizes.items() if value > 0}  # a config may lack one
        applied = architecture_applied(config, f"hub model {self.hub_name}", sizes, max_length=limit)
        model = SequencePropertyModel(
            encoder,
            HubBatchTokenizer(hf_tokenizer, max_length, self.hub_name),
            num_tasks,
            config.pooling,
            config.dropout,
        )
        hf_conf = encoder.config
        init = "random" if config.random_init else f"pretrained:hub:{self.hub_name}"
        info: dict[str, Any] = {
            "family": "hub",
            "hub_name": self.hub_name,
            "architecture": str(getattr(hf_conf, "model_type", "unknown")),
            "init": init,
            "num_layers": int(getattr(hf_conf, "num_hidden_layers", 0)),
            "emb_dim": int(getattr(hf_conf, "hidden_size", 0)),
            "num_heads": int(getattr(hf_conf, "num_attention_heads", 0)),
            "max_length": max_length,
            "tokenizer": model.tokenizer.describe(),
            "parameters": count_parameters(model),
        }
        if local_dir:
            info["checkpoint_bytes"] = sum(p.stat().st_size for p in Path(self.hub_name).rglob("*") if p.is_file())
        return BuiltModel(model, init, info, applied)
