"""Which electricity grid a run's kg CO2 are computed for, and who chose it.

CodeCarbon reads its own configuration (``~/.codecarbon.config``, then ``./.codecarbon.config``, then
``CODECARBON_*`` environment variables, the last one wins), but an argument given to its tracker beats all of
them. greenft used to pass ``country_iso_code="USA"`` always, so a user's ``country_iso_code=FRA`` was silently
ignored. Now the choice is made here, once, in CodeCarbon's own order with greenft's explicit setting on top:

1. ``--country`` / ``tracking.country_iso_code`` / a sweep value (an explicit greenft setting);
2. the user's CodeCarbon configuration (file or environment variable, as CodeCarbon itself reads it);
3. greenft's default, :data:`DEFAULT_COUNTRY`, when nothing sets it.

The code is then given to the tracker explicitly, so what the run records is what CodeCarbon used; an unknown code
is refused wherever it came from (CodeCarbon would otherwise log an error nobody sees and use the world average).
Where the intensity comes from (a forced value, a cloud region, a region, the country's energy mix) is described in
words, with the g CO2/kWh of CodeCarbon's offline table where it applies, for the run-start line and the run files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from greenft.errors import UserError
from greenft.tracking.config import codecarbon_energy_mix

#: The grid greenft assumes when neither a greenft setting nor the user's CodeCarbon configuration names one.
DEFAULT_COUNTRY = "USA"
#: How :attr:`GridChoice.source` names an explicit greenft setting and greenft's default.
SOURCE_GREENFT = "greenft setting (--country / tracking.country_iso_code)"
SOURCE_DEFAULT = "greenft default (no --country, no CodeCarbon configuration)"
#: How :attr:`GridChoice.source` names the grid a saved model's training run recorded (predict, evaluate, quantize).
SOURCE_TRAINING = "the training run's grid (recorded in the saved model)"
#: The meter-description keys (:meth:`GridChoice.describe`) naming the grid and who chose it; the summary's
#: ``meter/country_iso_code`` and ``meter/country_source`` read them (greenft.schema.summary imports these).
#: COUNTRY_KEY is also CodeCarbon's own name for the setting in ``.codecarbon.config``.
COUNTRY_KEY, COUNTRY_SOURCE_KEY = "country_iso_code", "country_source"
#: The keys of the user's CodeCarbon configuration that would still decide the intensity over a country code (a
#: forced g CO2/kWh, a cloud region, a region's mix): an explicit greenft country passes them to the tracker as None,
#: which beats the configuration (CodeCarbon's ``_set_from_conf``: a constructor value wins), so ``--country FRA``
#: means FRA's mix. Without an explicit country they apply, and the run-start line names them.
OVERRIDDEN_BY_COUNTRY = ("force_carbon_intensity_g_co2e_kwh", "region", "cloud_provider", "cloud_region")


class CodeCarbonConfigError(UserError):
    """A CodeCarbon configuration value greenft cannot measure with (an unknown country code)."""


@dataclass(frozen=True)
class GridChoice:
    """The country a run is metered for, where that choice came from, and how the intensity is obtained."""

    country_iso_code: str
    source: str  # SOURCE_GREENFT, a .codecarbon.config path, a CODECARBON_* variable name, or SOURCE_DEFAULT
    intensity: str  # in words, e.g. "CodeCarbon's offline energy mix for FRA (France, 2023): 56 g CO2/kWh"
    g_co2_per_kwh: float | None  # the table's (or a forced) intensity; None where a cloud/region table decides
    explicit: bool = False  # chosen by greenft's own setting: the configuration's OVERRIDDEN_BY_COUNTRY keys are off

    def tracker_arguments(self) -> dict[str, Any]:
        """What the tracker is given: the country, and for an explicit one None for each configuration key that
        would otherwise still decide the intensity."""
        off: dict[str, Any] = dict.fromkeys(OVERRIDDEN_BY_COUNTRY) if self.explicit else {}
        return {"country_iso_code": self.country_iso_code, **off}

    def describe(self) -> dict[str, object]:
        return {
            COUNTRY_KEY: self.country_iso_code,
            COUNTRY_SOURCE_KEY: self.source,
            "grid_intensity": self.intensity,
            "grid_g_co2_per_kwh": self.g_co2_per_kwh,
        }


def user_codecarbon_config() -> tuple[dict[str, str], dict[str, str]]:
    """The user's CodeCarbon configuration and, per key, the file path or variable that set it (CodeCarbon's own
    reader, so the layers and their order are exactly the tracker's)."""
    from codecarbon.core.config import get_hierarchical_config_with_sources

    config, sources = get_hierarchical_config_with_sources()
    return dict(config), dict(sources)


def choose_grid(
    explicit: str | None,
    config: Mapping[str, str] | None = None,
    sources: Mapping[str, str] | None = None,
    explicit_source: str = SOURCE_GREENFT,
) -> GridChoice:
    """The grid for a run: ``explicit`` (greenft's setting) first, else the user's CodeCarbon configuration
    (read now when ``config`` is None), else :data:`DEFAULT_COUNTRY`; refuses a code CodeCarbon has no mix for.
    ``explicit_source`` names where ``explicit`` came from: only greenft's own setting switches off the
    configuration's :data:`OVERRIDDEN_BY_COUNTRY` keys (a country carried over from training, SOURCE_TRAINING, is
    measured as training measured it, under the same configuration)."""
    if config is None:
        config, sources = user_codecarbon_config()
    sources = sources or {}
    configured = (config.get(COUNTRY_KEY) or "").strip()
    if explicit is not None:
        code, source = explicit.upper(), explicit_source
    elif configured:
        code, source = configured.upper(), sources.get(COUNTRY_KEY, "CodeCarbon configuration")
    else:
        code, source = DEFAULT_COUNTRY, SOURCE_DEFAULT
    mix = codecarbon_energy_mix()
    if mix and code not in mix:
        raise CodeCarbonConfigError(
            f"country_iso_code = {code!r} (from {source}): CodeCarbon has no energy mix for this code and would use "
            "the world average; give an ISO 3166-1 alpha-3 code such as USA, FRA, DEU, ITA, SWE there, or --country"
        )
    explicit_choice = explicit is not None and explicit_source == SOURCE_GREENFT
    if explicit_choice:  # the tracker is told None for these (tracker_arguments), so they do not apply
        config = {k: v for k, v in config.items() if k not in OVERRIDDEN_BY_COUNTRY}
    intensity, grams = _intensity(code, mix.get(code, {}), config, sources)
    return GridChoice(code, source, intensity, grams, explicit_choice)


def _intensity(
    code: str, row: Mapping[str, object], config: Mapping[str, str], sources: Mapping[str, str]
) -> tuple[str, float | None]:
    """How CodeCarbon's offline tracker will turn kWh into kg for ``code``, checked in the tracker's own order
    (a forced intensity, a cloud region, a region's mix, the country's mix)."""
    forced = config.get("force_carbon_intensity_g_co2e_kwh")
    if forced:
        try:
            grams = float(forced)
        except ValueError:
            grams = -1.0
        if grams >= 0:
            where = sources.get("force_carbon_intensity_g_co2e_kwh", "CodeCarbon configuration")
            return f"forced to {grams:g} g CO2/kWh by {where}", grams
    if config.get("cloud_provider") and config.get("cloud_region"):
        where = sources.get("cloud_provider", "CodeCarbon configuration")
        return (
            f"CodeCarbon's cloud table for {config['cloud_provider']} {config['cloud_region']} (set in {where})",
            None,
        )
    if config.get("region"):
        where = sources.get("region", "CodeCarbon configuration")
        return f"CodeCarbon's energy mix for region {config['region']} of {code} (set in {where})", None
    grams_value = row.get("carbon_intensity")
    name, year = row.get("country_name", code), row.get("year")
    label = f"CodeCarbon's offline energy mix for {code} ({name}{f', {year}' if year else ''})"
    if isinstance(grams_value, int | float):
        return f"{label}: {float(grams_value):.0f} g CO2/kWh", float(grams_value)
    return label, None


def grid_line(meter_info: Mapping[str, object]) -> str | None:
    """The run-start line saying which grid a run is metered for and who chose it (None for a meter without
    one, e.g. wall-clock), from a meter's :meth:`describe` so every command prints the same words."""
    code = meter_info.get(COUNTRY_KEY)
    if not code:
        return None
    return f"{code} from {meter_info.get(COUNTRY_SOURCE_KEY)}; intensity: {meter_info.get('grid_intensity')}"
