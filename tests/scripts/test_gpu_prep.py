"""scripts/gpu/: the wheel list for the device, the wheel slimmer, and the data layout the device reads.

What the device call carries is computed here (scripts/gpu/wheels.sh); a wrong list costs device time, so the
pieces that decide it are checked against this environment: the closure pins exactly the installed versions and
never a package the device has or one the leave-out list names; a slimmed wheel loses only the prefix (and its
RECORD lines); and a folder laid out as a data package, first on sys.path, is where greenft reads the data.
"""

from __future__ import annotations

import importlib.metadata as metadata
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement

from greenft.data import get_dataset_spec, load_molecules
from greenft.data.sources import package_data_dir

GPU = Path(__file__).resolve().parents[2] / "scripts" / "gpu"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"gpu_{name}", GPU / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_markers_are_judged_for_the_device_python() -> None:
    closure = _load("closure")
    assert not closure.applies(Requirement('tomli; python_version < "3.12"'), set())
    assert closure.applies(Requirement('pandas; python_version < "3.14"'), set())
    assert not closure.applies(Requirement('pytest; extra == "dev"'), set())
    assert closure.applies(Requirement('pytest; extra == "dev"'), {"dev"})


def test_closure_pins_installed_versions_and_leaves_out_device_and_skipped_packages() -> None:
    closure = _load("closure")
    device = closure.read_names(GPU / "device_packages.txt")
    skipped = closure.read_names(GPU / "leave_out.txt")
    assert {"torch", "torch-geometric", "transformers", "numpy", "nvidia-ml-py"} <= device
    carry, left = closure.closure("greenft", set(), ["sweeps"], device, skipped | {"wandb"})
    assert carry, "greenft's closure carries something (rdkit, pydantic, codecarbon are not on the device)"
    for name, version in carry.items():
        assert name not in device and name not in skipped
        assert metadata.version(name) == version
    assert {"rdkit", "pydantic", "codecarbon", "selfies", "sweeps"} <= set(carry)
    assert left["wandb"] == "--skip" and left["torch"] == "on the device"
    # wandb's own needs are not carried when wandb is left out (cwevals is needed by wandb alone)
    assert "cwevals" not in carry


def test_slim_wheel_drops_only_the_prefix_and_its_record_lines(tmp_path: Path) -> None:
    slim = _load("slim_wheel")
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    record = "demo/__init__.py,sha256=x,1\ndemo/locales/fr.mo,sha256=y,2\ndemo-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo/__init__.py", "A = 1\n")
        archive.writestr("demo/locales/fr.mo", b"\x00" * 100)
        archive.writestr("demo/locales/de.mo", b"\x00" * 100)
        archive.writestr("demo-1.0.dist-info/RECORD", record)
    assert slim.slim(str(wheel), "demo/locales/") == 2
    with zipfile.ZipFile(wheel) as archive:
        assert sorted(archive.namelist()) == ["demo-1.0.dist-info/RECORD", "demo/__init__.py"]
        assert archive.read("demo/__init__.py") == b"A = 1\n"
        assert archive.read("demo-1.0.dist-info/RECORD").decode().splitlines() == [
            "demo/__init__.py,sha256=x,1",
            "demo-1.0.dist-info/RECORD,,",
        ]


def test_a_data_folder_first_on_sys_path_is_where_greenft_reads_bbbp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The .gpudata/site layout: only the CSV, an empty __init__.py, no molalkit code."""
    installed = package_data_dir("molalkit", "pip install --no-deps molalkit") / "data" / "datasets" / "bbbp.csv"
    if not installed.is_file():
        pytest.skip("molalkit is not installed here: nothing to lay out")
    site = tmp_path / "site"
    target = site / "molalkit" / "data" / "datasets"
    target.mkdir(parents=True)
    (site / "molalkit" / "__init__.py").touch()
    lines = installed.read_text().splitlines(keepends=True)
    (target / "bbbp.csv").write_text("".join(lines[:41]))  # header + 40 molecules: not the installed file
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    assert package_data_dir("molalkit", "hint") == site / "molalkit"
    molecules = load_molecules(get_dataset_spec("bbbp"))
    assert 0 < len(molecules.smiles) <= 40


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_checks_script_is_valid_bash() -> None:
    result = subprocess.run(["bash", "-n", str(GPU / "checks.sh")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
