"""The meter-description keys the summary reads (``final_emissions_kg``, ``country_iso_code``, ...) are spelled once,
in greenft.tracking (where the meter writes them), and imported by greenft.schema.summary: a second spelling there
would silently give an empty ``total/metered_*`` or ``meter/country_*`` the day one of them is renamed."""

from __future__ import annotations

import ast
from pathlib import Path

from greenft.tracking.emissions import FINAL_EMISSIONS, FINAL_ENERGY
from greenft.tracking.grid import COUNTRY_KEY, COUNTRY_SOURCE_KEY, choose_grid

SUMMARY = Path(__file__).resolve().parents[2] / "src" / "greenft" / "schema" / "summary.py"


def test_summary_spells_no_meter_key_itself() -> None:
    strings = {n.value for n in ast.walk(ast.parse(SUMMARY.read_text())) if isinstance(n, ast.Constant)}
    assert not strings & {FINAL_EMISSIONS, FINAL_ENERGY, COUNTRY_KEY, COUNTRY_SOURCE_KEY}


def test_grid_description_uses_the_keys_the_summary_reads() -> None:
    described = choose_grid("FRA", config={}, sources={}).describe()
    assert described[COUNTRY_KEY] == "FRA"
    assert described[COUNTRY_SOURCE_KEY] == "greenft setting (--country / tracking.country_iso_code)"
