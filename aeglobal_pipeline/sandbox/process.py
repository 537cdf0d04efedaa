"""Starting, finding and stopping the sandbox server process for one `$AEGLOBAL_HOME`.

The server advertises itself in `<home>/sandbox/server.json` (pid, url, ca_path). A recorded
server counts as running only if that pid is alive and answers /__sandbox/ping with the same pid
and home, so a stale file or a recycled pid never points clients at the wrong process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from aeglobal_pipeline.sandbox.credentials import ensure_tokens, home_lock, read_tokens, sandbox_dir
from aeglobal_pipeline.sandbox.server import run, server_info_path

START_TIMEOUT_SECONDS = 30


class SandboxNotRunning(RuntimeError):
    pass


@dataclass(frozen=True)
class SandboxEndpoint:
    url: str
    ca_path: Path
    pid: int
    port: int
    home: Path

    def session(self) -> requests.Session:
        """A requests session that trusts the sandbox CA and ignores proxy/CA env variables."""
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE and proxies would override verify
        session.verify = str(self.ca_path)
        return session


def _recorded(home: Path) -> SandboxEndpoint | None:
    try:
        info = json.loads(server_info_path(home).read_text(encoding="utf-8"))
        return SandboxEndpoint(info["url"], Path(info["ca_path"]), int(info["pid"]), int(info["port"]),
                               Path(info["home"]))
    except (OSError, ValueError, KeyError):
        return None


def _alive(endpoint: SandboxEndpoint, home: Path) -> bool:
    try:
        os.kill(endpoint.pid, 0)
    except OSError:
        return False
    try:
        answer = endpoint.session().get(f"{endpoint.url}/__sandbox/ping", timeout=5).json()
    except (requests.RequestException, ValueError):
        return False
    return answer.get("pid") == endpoint.pid and Path(answer.get("home", "")) == home


def find_running(home: Path) -> SandboxEndpoint | None:
    home = home.resolve()
    endpoint = _recorded(home)
    return endpoint if endpoint is not None and _alive(endpoint, home) else None


def ensure_running(home: Path) -> SandboxEndpoint:
    """The running server for `home`, starting one in the background if there is none."""
    home = home.resolve()
    with home_lock(home, "server"):
        endpoint = find_running(home)
        if endpoint is not None:
            return endpoint
        log = (sandbox_dir(home) / "server.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "aeglobal_pipeline.sandbox.server", "--home", str(home), "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SandboxNotRunning(
                    f"the sandbox server exited with status {process.returncode}; "
                    f"see {sandbox_dir(home) / 'server.log'}"
                )
            endpoint = _recorded(home)
            if endpoint is not None and endpoint.pid == process.pid and _alive(endpoint, home):
                return endpoint
            time.sleep(0.05)
        process.terminate()
        raise SandboxNotRunning(f"the sandbox server did not answer within {START_TIMEOUT_SECONDS}s")


def stop(home: Path, timeout: float = 10.0) -> bool:
    """Stop the server recorded for `home` (by its own pid); True if one was running."""
    home = home.resolve()
    endpoint = find_running(home)
    if endpoint is None:
        return False
    os.kill(endpoint.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(endpoint.pid, 0)
        except OSError:
            break
        _reap(endpoint.pid)
        time.sleep(0.05)
    else:
        os.kill(endpoint.pid, signal.SIGKILL)
        _reap(endpoint.pid)
    server_info_path(home).unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    """Collect our own exited child so its pid stops looking alive (no-op for other processes)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def token_for(home: Path, source_name: str) -> str:
    """The sandbox access token of one source (created on first use)."""
    tokens = read_tokens(home.resolve())
    if source_name not in tokens.get("sources", {}):
        tokens = ensure_tokens(home.resolve(), [source_name])
    return tokens["sources"][source_name]


def control_token(home: Path) -> str:
    return ensure_tokens(home.resolve())["control"]


def serve(home: Path, port: int = 0) -> None:
    """Serve in the foreground (`aeglobal sandbox serve`) until interrupted."""
    home = home.resolve()
    if find_running(home) is not None:
        raise SandboxNotRunning(f"a sandbox server is already running for {home}; stop it first")
    print(f"sandbox for {home} starting; clients find it through {server_info_path(home)}")
    run(home, port)
