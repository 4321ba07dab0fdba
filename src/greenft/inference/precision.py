"""Post-training numeric precisions of a fine-tuned model: float32, float16, bfloat16, dynamic and static int8.

Why: the seed thesis measures what *using* a model costs at each precision (file size, parameters, accuracy,
energy). Every greenft family takes integer inputs (atom/bond type ids, token ids), so a precision is a property
of the weights alone: casting the weights to float16/bfloat16 casts every activation after the embeddings, and
no input needs casting. int8 works on ``nn.Linear`` layers, the bulk of the weights in both kinds of family
(the GIN/GCN layer MLPs, the transformer's attention projections and feed-forward layers):

* dynamic int8: ``torch.ao.quantization.quantize_dynamic`` (int8 weights, activations quantised per batch);
* static int8: eager-mode post-training quantisation, with each ``nn.Linear`` wrapped in its own
  ``QuantStub -> Linear -> DeQuantStub`` and the activation ranges calibrated on training molecules. Eager mode
  quantises only what sits between stubs: PyG's message passing (scatter-add), attention's softmax and matmuls,
  embeddings, batch/layer norms have no quantised kernels in eager mode, so they stay float32. Whole-graph
  static int8 (PT2E ``prepare_pt2e`` on a ``torch.export``-ed model) left ``torch.ao`` in torch 2.13 for the
  separate ``torchao`` package, which greenft does not depend on (see docs/inference.md).

The task head (one ``Linear`` with one output per task) stays float32 at int8: it holds a negligible share of the
weights, and the sequence model reads the device from ``head.weight``, which a quantised Linear turns into a
method. int8 kernels (fbgemm/x86) are CPU only: on CUDA those precisions are unsupported rows.

A precision that cannot be applied raises :class:`PrecisionUnsupported` with the reason; the table then records
a row with ``supported=False`` and that note (never a made-up number).
"""

from __future__ import annotations

import copy
import io
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from greenft.inference.precision_names import UnknownPrecisionError, parse_precisions
from greenft.schema.inference import Precision

__all__ = [
    "PRECISION_NOTES",
    "PrecisionUnsupported",
    "UnknownPrecisionError",
    "count_parameters",
    "parse_precisions",
    "state_dict_bytes",
    "to_precision",
]

KEPT_FLOAT = ("head",)
"""Top-level child modules int8 leaves in float32 (see the module docstring)."""

PRECISION_NOTES: dict[Precision, str] = {
    Precision.FLOAT32: "weights and activations float32 (as trained)",
    Precision.FLOAT16: "weights and activations cast to float16",
    Precision.BFLOAT16: "weights and activations cast to bfloat16",
    Precision.DYNAMIC_INT8: "torch.ao quantize_dynamic: Linear weights int8, activations quantised per batch; "
    "task head float32",
    Precision.STATIC_INT8: "eager static int8 of each Linear (QuantStub/DeQuantStub around it), activation ranges "
    "calibrated on training molecules; message passing / attention / embeddings / norms and the head float32",
}
"""What each precision does to the model, recorded as the row's note."""

_FLOAT_DTYPES = {Precision.FLOAT16: torch.float16, Precision.BFLOAT16: torch.bfloat16}


class PrecisionUnsupported(Exception):
    """The precision cannot be applied to this model here; the message says exactly why."""


class _StaticLinear(nn.Module):
    """A Linear between its own quantise / dequantise stubs: what eager static quantisation converts."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.linear = linear
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.dequant(self.linear(self.quant(x)))
        return out


def _quantisable_linears(model: nn.Module) -> list[tuple[nn.Module, str, nn.Linear]]:
    """``(parent, attribute, linear)`` for every ``nn.Linear`` outside :data:`KEPT_FLOAT`."""
    found: list[tuple[nn.Module, str, nn.Linear]] = []

    def walk(module: nn.Module, top: bool) -> None:
        for name, child in module.named_children():
            if top and name in KEPT_FLOAT:
                continue
            if isinstance(child, nn.Linear):
                found.append((module, name, child))
            else:
                walk(child, False)

    walk(model, True)
    return found


def _dynamic_int8(model: nn.Module) -> nn.Module:
    names = {
        f"{prefix}.{name}" if prefix else name
        for prefix, module in model.named_modules()
        for name, child in module.named_children()
        if isinstance(child, nn.Linear) and not (prefix == "" and name in KEPT_FLOAT)
    }
    if not names:
        raise PrecisionUnsupported("dynamic int8: the model has no nn.Linear layer outside the task head")
    with warnings.catch_warnings():  # torch 2.13 announces eager quantisation's move to torchao on every call
        warnings.simplefilter("ignore")
        quantised: nn.Module = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            model, names, dtype=torch.qint8
        )
        return quantised


def _static_int8(model: nn.Module, calibration_batches: Iterable[Any]) -> nn.Module:
    linears = _quantisable_linears(model)
    if not linears:
        raise PrecisionUnsupported("static int8: the model has no nn.Linear layer outside the task head")
    engine = "x86" if "x86" in torch.backends.quantized.supported_engines else "fbgemm"
    if engine not in torch.backends.quantized.supported_engines:
        raise PrecisionUnsupported(f"static int8: no x86/fbgemm quantised engine in this torch build ({engine})")
    torch.backends.quantized.engine = engine
    for parent, name, linear in linears:
        wrapped = _StaticLinear(linear)
        wrapped.qconfig = torch.ao.quantization.get_default_qconfig(engine)  # type: ignore[no-untyped-call]
        setattr(parent, name, wrapped)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.ao.quantization.prepare(model, inplace=True)  # type: ignore[no-untyped-call]
        seen = 0
        with torch.no_grad():
            for batch in calibration_batches:
                model(batch)
                seen += 1
        if seen == 0:
            raise PrecisionUnsupported("static int8: no calibration molecules (training split empty)")
        torch.ao.quantization.convert(model, inplace=True)  # type: ignore[no-untyped-call]
    return model


def to_precision(
    model: nn.Module,
    precision: Precision | str,
    calibration_batches: Iterable[Any] = (),
    device: torch.device | str = "cpu",
) -> nn.Module:
    """A copy of ``model`` (left untouched) at ``precision``, in eval mode.

    ``calibration_batches`` (family batches of training molecules) are read by static int8 only. Raises
    :class:`PrecisionUnsupported` where the precision cannot apply (int8 on a non-CPU device, a model without
    Linear layers, no calibration data).
    """
    precision = Precision(precision)
    is_int8 = precision in (Precision.DYNAMIC_INT8, Precision.STATIC_INT8)
    if is_int8 and torch.device(device).type != "cpu":
        raise PrecisionUnsupported(f"{precision.value}: torch.ao int8 kernels (fbgemm/x86) run on the CPU only")
    copied = copy.deepcopy(model).eval()
    if is_int8:
        copied = copied.to("cpu")
    if precision is Precision.FLOAT32:
        return copied.float()
    if precision in _FLOAT_DTYPES:
        return copied.to(_FLOAT_DTYPES[precision])
    if precision is Precision.DYNAMIC_INT8:
        return _dynamic_int8(copied.float())
    return _static_int8(copied.float(), calibration_batches)


def _quantised_linears(model: nn.Module) -> Sequence[nn.Module]:
    kinds = (torch.ao.nn.quantized.Linear, torch.ao.nn.quantized.dynamic.Linear)
    return [m for m in model.modules() if isinstance(m, kinds)]


def count_parameters(model: nn.Module) -> int:
    """Trainable-sized parameter count: ``nn.Parameter`` elements plus packed int8 Linear weights and biases
    (which quantisation moves out of ``parameters()``), so every precision of one model counts the same."""
    total = sum(p.numel() for p in model.parameters())
    for linear in _quantised_linears(model):
        weight, bias = linear._weight_bias()  # type: ignore[operator]
        total += weight.numel() + (bias.numel() if bias is not None else 0)
    return int(total)


def state_dict_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())``: the weights file a deployment would ship at this precision."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes
