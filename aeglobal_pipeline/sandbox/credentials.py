"""The sandbox's access tokens and TLS material, kept under `<home>/sandbox/`.

tokens.json (mode 0600): {"control": token, "sources": {source name: token}, "refresh": {source name:
OAuth refresh token}}; the refresh token buys new access tokens at /services/oauth2/token. A token belongs to
one source, as a real session id belongs to one org; the control token guards fault injection.
ca.pem is a private CA (trustme) that clients verify the server's certificate against.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import trustme

SERVER_NAMES = ("127.0.0.1", "localhost")


def sandbox_dir(home: Path) -> Path:
    path = home / "sandbox"
    path.mkdir(parents=True, exist_ok=True)
    return path


def tokens_path(home: Path) -> Path:
    return sandbox_dir(home) / "tokens.json"


def ca_path(home: Path) -> Path:
    return sandbox_dir(home) / "ca.pem"


@contextmanager
def home_lock(home: Path, name: str) -> Iterator[None]:
    """An exclusive lock shared by every process using this home (server, loader, clients)."""
    with (sandbox_dir(home) / f"{name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_private(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def read_tokens(home: Path) -> dict:
    path = tokens_path(home)
    if not path.exists():
        return {"control": None, "sources": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def ensure_tokens(home: Path, source_names: Iterable[str] = ()) -> dict:
    """Create the control token and a token for each named source that has none yet."""
    with home_lock(home, "tokens"):
        tokens = read_tokens(home)
        changed = tokens.get("control") is None
        tokens["control"] = tokens.get("control") or secrets.token_urlsafe(24)
        tokens.setdefault("refresh", {})
        for name in source_names:
            if name not in tokens["refresh"]:
                tokens["refresh"][name] = f"5Aep{secrets.token_urlsafe(40)}"
                changed = True
            if name not in tokens["sources"]:
                # Shaped like a Salesforce session id: org-id prefix, '!', opaque secret.
                tokens["sources"][name] = f"00D{secrets.token_hex(6)}!{secrets.token_urlsafe(36)}"
                changed = True
        if changed:
            _write_private(tokens_path(home), json.dumps(tokens, indent=2))
        return tokens


def ensure_certificates(home: Path) -> tuple[Path, Path]:
    """(ca.pem, server.pem with key and chain); created once and reused across restarts."""
    directory = sandbox_dir(home)
    server_pem = directory / "server.pem"
    with home_lock(home, "certificates"):
        if not (ca_path(home).exists() and server_pem.exists()):
            ca = trustme.CA(organization_name="aeglobal sandbox")
            server = ca.issue_cert(*SERVER_NAMES)
            ca.cert_pem.write_to_path(str(ca_path(home)))
            _write_private(server_pem, server.private_key_and_cert_chain_pem.bytes().decode())
    return ca_path(home), server_pem
