"""scripts/screenshot-report.sh opens report.html from a folder whose name holds URL syntax ('#', '%', '?', a
space): the file:// URL is percent-encoded (review of issue 18, item 13). Real headless Chromium, a one-line page
whose script rewrites a paragraph: the DOM dump holds the rewritten text only if Chromium opened that very file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "screenshot-report.sh"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

PAGE = '<!DOCTYPE html><html><body><p id="x">static</p><script>document.getElementById("x").textContent = "script ran"'
PAGE += "</script></body></html>"


@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"no Chromium at {CHROMIUM}")
def test_a_report_folder_named_with_url_syntax_opens(tmp_path: Path) -> None:
    folder = tmp_path / "run #1 at 100% ?x"
    folder.mkdir()
    (folder / "report.html").write_text(PAGE)
    png, dom = tmp_path / "shot.png", tmp_path / "dom.html"
    env = {**os.environ, "DOM_OUT": str(dom), "CHROMIUM": CHROMIUM, "BUDGET_MS": "500", "WIDTH": "200"}
    env["HEIGHT"] = "200"
    done = subprocess.run(["bash", str(SCRIPT), str(folder), str(png)], env=env, timeout=120, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert "script ran" in dom.read_text()
    assert png.stat().st_size > 0
