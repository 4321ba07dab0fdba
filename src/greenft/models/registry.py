"""Model names a config or a sweep can use, mapped to their families."""

from __future__ import annotations

from greenft.models.base import BuiltModel, ModelFamily
from greenft.models.config import ModelConfig
from greenft.models.gin import GinFamily

MODEL_FAMILIES: dict[str, ModelFamily] = {}


def register_family(family: ModelFamily) -> None:
    """Make ``family`` available under ``family.name`` (a later registration of the same name replaces it)."""
    MODEL_FAMILIES[family.name] = family


register_family(GinFamily())


def known_models() -> list[str]:
    return sorted(MODEL_FAMILIES)


class UnknownModelError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def get_family(name: str) -> ModelFamily:
    try:
        return MODEL_FAMILIES[name]
    except KeyError:
        raise UnknownModelError(f"unknown model {name!r}; known models: {', '.join(known_models())}") from None


def build_model(config: ModelConfig, num_tasks: int) -> BuiltModel:
    """Build the model ``config.name`` for ``num_tasks`` outputs."""
    return get_family(config.name).build(config, num_tasks)
