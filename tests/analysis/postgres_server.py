"""A throwaway PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` in a temp dir, on a free local port, password
authentication (scram-sha-256). Run as root, the server runs as the ``postgres`` user (PostgreSQL refuses root).

:func:`find_bin_dir` says where the server binaries are, or ``None``; tests skip with that reason.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

USER = "greenft"


def find_bin_dir() -> Path | None:
    """``$PG_BIN``, ``pg_config --bindir``, the newest ``/usr/lib/postgresql/*/bin``, or the ``initdb`` on PATH."""
    candidates: list[Path] = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]))
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(out.stdout.strip()))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    candidates.extend(versions)
    if shutil.which("initdb"):
        candidates.append(Path(str(shutil.which("initdb"))).parent)
    return next((c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()), None)


def server_user() -> str | None:
    """Who runs the server: this user, or ``postgres`` when this is root (None: root and no such user)."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        return pwd.getpwnam(os.environ.get("PG_USER", "postgres")).pw_name
    except KeyError:
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    password: str
    run_as: str

    def _as_server_user(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *args] if os.geteuid() == 0 else list(args)

    def url(self, database: str, password: str | None = None) -> str:
        return f"postgresql://{USER}:{password or self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        env = {**os.environ, "PGPASSWORD": self.password}
        psql = [str(self.bin_dir / "psql"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "-d"]
        subprocess.run([*psql, "postgres", "-c", f"CREATE DATABASE {name}"], env=env, check=True, timeout=60)
        return self.url(name)

    def stop(self) -> None:
        pg_ctl = str(self.bin_dir / "pg_ctl")
        args = self._as_server_user(pg_ctl, "-D", str(self.root / "data"), "-m", "immediate", "stop")
        subprocess.run(args, capture_output=True, check=False, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def start(bin_dir: Path, run_as: str) -> PostgresServer:
    """Start a fresh cluster; its data, socket and log live in a new temp dir the server user can reach."""
    root = Path(tempfile.mkdtemp(prefix="greenft-pg-"))
    root.chmod(0o755)
    server = PostgresServer(bin_dir, root, free_port(), "pw-" + secrets.token_hex(12), run_as)
    pwfile = root / "pwfile"
    pwfile.write_text(server.password + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, user=run_as)
        shutil.chown(pwfile, user=run_as)
    initdb = [str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", USER, "--auth=scram-sha-256"]
    subprocess.run(server._as_server_user(*initdb, f"--pwfile={pwfile}"), capture_output=True, check=True, timeout=120)
    pwfile.unlink()
    options = f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "server.log"), "-w", "-o", options]
    subprocess.run(server._as_server_user(*pg_ctl, "start"), capture_output=True, check=True, timeout=120)
    return server
