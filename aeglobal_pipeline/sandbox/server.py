"""The sandbox server: Salesforce REST/Bulk 2.0 and Account Engagement v5 over HTTPS.

Run as `python -m aeglobal_pipeline.sandbox.server --home HOME --port 0` (process.py does this).
It binds 127.0.0.1 only, serves every source of the loaded snapshot at once (the Bearer token
selects the source, as a session id selects an org), and writes `<home>/sandbox/server.json` so
that clients find it. A snapshot load is noticed on the next request: the state's generation
changes and the server drops its cursors and jobs, as a refreshed org would.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import ssl
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from aeglobal_pipeline.sandbox.credentials import (
    ensure_certificates,
    ensure_tokens,
    sandbox_dir,
    tokens_path,
)
from aeglobal_pipeline.sandbox.faults import Faults, FaultSpecError, Stats
from aeglobal_pipeline.sandbox.limits import LimitBook, LimitSpecError
from aeglobal_pipeline.sandbox.store import SourceInfo, Store, state_path

SALESFORCE_PREFIX = "/services/data/"
AE_PREFIX = "/api/v5/"
CONTROL_PREFIX = "/__sandbox/"
OAUTH_PATH = "/services/oauth2/token"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    target: str = ""  # the request line's URI as sent (path and query string)

    def request_bytes(self) -> int:
        """URI + headers, the size Salesforce limits to 16 KB."""
        return len(self.target.encode()) + sum(len(k) + len(v) + 4 for k, v in self.headers.items())

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def bearer(self) -> str | None:
        value = self.headers.get("Authorization", "")
        return value[7:].strip() if value[:7].lower() == "bearer " else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Raised by handlers to answer with an error response."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status, body, headers=headers or {})


def salesforce_error(status: int, error_code: str, message: str, fields: list | None = None) -> ApiError:
    payload = {"message": message, "errorCode": error_code}
    if fields is not None:
        payload["fields"] = fields
    return ApiError(json_response(status, [payload]))


def ae_error(status: int, code: int, message: str) -> ApiError:
    return ApiError(json_response(status, {"code": code, "message": message}))


def parse_json(request: Request, on_error: ApiError) -> object:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        raise on_error from None


class SandboxApp:
    """Everything a request needs: state, tokens, faults, stats, open cursors and jobs."""

    def __init__(self, home: Path):
        self.home = home
        self.store = Store(state_path(home))
        self.faults = Faults()
        self.stats = Stats()
        self.limits = LimitBook()
        self._refreshed_tokens: dict[str, str] = {}  # access tokens issued by the OAuth endpoint
        self._refresh_tokens: dict[str, str] = {}
        self.cursors: dict[str, object] = {}
        self.jobs: dict[str, object] = {}
        self.lock = threading.Lock()
        self._generation = -1
        self._tokens_mtime = 0.0
        self._token_sources: dict[str, str] = {}
        self.control_token = ""
        self._refresh()

    def _refresh(self) -> None:
        """Pick up a new snapshot (generation) and new tokens without a restart."""
        generation = self.store.generation()
        if generation != self._generation:
            with self.lock:
                self.cursors.clear()
                self.jobs.clear()
                self._generation = generation
            ensure_tokens(self.home, [s.name for s in self.store.sources()])
        mtime = tokens_path(self.home).stat().st_mtime if tokens_path(self.home).exists() else 0.0
        if mtime != self._tokens_mtime:
            tokens = ensure_tokens(self.home)
            self.control_token = tokens["control"]
            self._token_sources = {token: name for name, token in tokens["sources"].items()}
            self._refresh_tokens = {token: name for name, token in tokens.get("refresh", {}).items()}
            self._tokens_mtime = mtime

    def source_for(self, token: str | None, kind: str) -> SourceInfo | None:
        name = self._token_sources.get(token or "") or self._refreshed_tokens.get(token or "")
        for source in self.store.sources():
            if source.name == name and source.kind == kind:
                return source
        return None

    def handle(self, request: Request) -> Response:
        try:
            self._refresh()
            if request.path.startswith(CONTROL_PREFIX):
                return self._control(request)
            if request.path == OAUTH_PATH:
                return self._oauth_token(request)
            if request.path.startswith(SALESFORCE_PREFIX):
                return self._salesforce(request)
            if request.path.startswith(AE_PREFIX):
                return self._account_engagement(request)
            raise salesforce_error(404, "NOT_FOUND", "The requested resource does not exist")
        except ApiError as error:
            return error.response
        except Exception:
            # A sandbox bug must surface as Salesforce's 500, with the traceback in server.log.
            traceback.print_exc()
            sys.stderr.flush()
            return salesforce_error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred").response

    def _inject(self, source: str, request: Request, as_error) -> None:
        fault = self.faults.take_request_fault(source, request.method, request.path)
        if fault is None:
            return
        if fault.latency_ms:
            time.sleep(fault.latency_ms / 1000)
        if fault.status is not None:
            error = as_error(fault)
            if fault.retry_after is not None:
                error.response.headers["Retry-After"] = str(fault.retry_after)
            raise error

    def _salesforce(self, request: Request) -> Response:
        from aeglobal_pipeline.sandbox import salesforce_api

        source = self.source_for(request.bearer(), "salesforce")
        if source is None or self.limits.token_expired(request.bearer() or "", source.name):
            raise salesforce_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        limits = self.limits.of(source.name)
        if request.request_bytes() > limits.sf_max_request_bytes:
            # Answered by Salesforce's front end, before the API: an HTML page, no JSON error.
            too_long_uri = len(request.target.encode()) > limits.sf_max_request_bytes
            status = 414 if too_long_uri else 431
            text = "URI Too Long" if too_long_uri else "Request Header Fields Too Large"
            raise ApiError(Response(status, f"<html><body>{status} {text}</body></html>".encode(),
                                    "text/html"))
        usage = self.limits.count_call(source.name, limits.sf_daily_requests)
        if usage is None:
            self.stats.count(source.name, "refused_daily_limit")
            raise salesforce_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        self.stats.count(source.name, salesforce_api.call_kind(request))
        limit_header = {"Sforce-Limit-Info": f"api-usage={usage}/{limits.sf_daily_requests}"}
        try:
            self._inject(source.name, request, lambda f: salesforce_error(f.status, *f.salesforce_error()))
            response = salesforce_api.handle(self, source, request)
        except ApiError as error:
            error.response.headers.update(limit_header)
            raise
        response.headers.update(limit_header)
        return response

    def _account_engagement(self, request: Request) -> Response:
        from aeglobal_pipeline.sandbox import ae_api

        source = self.source_for(request.bearer(), "account_engagement")
        if source is None or self.limits.token_expired(request.bearer() or "", source.name):
            raise ae_error(401, 184, "access_token is invalid, unknown, or malformed")
        unit = request.headers.get("Pardot-Business-Unit-Id")
        if not unit:
            raise ae_error(400, 181, "A required header is missing: Pardot-Business-Unit-Id")
        if unit != source.business_unit_id:
            raise ae_error(
                400, 201, "Business Unit specified in Pardot-Business-Unit-Id header not found or inactive."
            )
        limits = self.limits.of(source.name)
        # AE answers its limits with codes in the body and no Retry-After, not with HTTP 429.
        if self.limits.count_call(source.name, limits.ae_daily_calls) is None:
            self.stats.count(source.name, "refused_daily_limit")
            raise ae_error(400, 122, "Daily API rate limit met")
        if not self.limits.enter(source.name, limits.ae_concurrent):
            self.stats.count(source.name, "refused_concurrency")
            raise ae_error(400, 66, "You have exceeded your concurrent request limit. "
                                    "Please wait, before trying again")
        try:
            self.stats.count(source.name, ae_api.call_kind(request))
            self._inject(source.name, request, lambda f: ae_error(f.status, *f.account_engagement_error()))
            return ae_api.handle(self, source, request)
        finally:
            self.limits.leave(source.name)

    def _oauth_token(self, request: Request) -> Response:
        """OAuth 2.0 refresh_token grant: a new access token for the source the refresh token
        belongs to (what a connected app's refresh flow does)."""
        form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        name = self._refresh_tokens.get(form.get("refresh_token", "")) \
            if form.get("grant_type") == "refresh_token" else None
        if name is None:
            return json_response(
                400, {"error": "invalid_grant", "error_description": "expired access/refresh token"}
            )
        token = f"00D{secrets.token_hex(6)}!{secrets.token_urlsafe(36)}"
        with self.lock:
            self._refreshed_tokens[token] = name
        self.limits.issue(token)
        host = request.headers.get("Host", "127.0.0.1")
        return json_response(200, {
            "access_token": token, "instance_url": f"https://{host}", "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
        })

    def _control(self, request: Request) -> Response:
        route = request.path[len(CONTROL_PREFIX):].strip("/")
        if route == "ping":
            return json_response(200, {"ok": True, "pid": os.getpid(), "home": str(self.home)})
        if request.bearer() != self.control_token:
            raise salesforce_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if route == "faults" and request.method == "POST":
            try:
                body = parse_json(request, salesforce_error(400, "JSON_PARSER_ERROR", "bad JSON"))
                ids = self.faults.add(body)
            except FaultSpecError as error:
                raise salesforce_error(400, "INVALID_FAULT", str(error)) from None
            return json_response(201, {"ids": ids})
        if route == "faults" and request.method == "GET":
            return json_response(200, self.faults.describe())
        if route == "faults" and request.method == "DELETE":
            self.faults.clear()
            return Response(204)
        if route == "limits" and request.method == "POST":
            try:
                body = parse_json(request, salesforce_error(400, "JSON_PARSER_ERROR", "bad JSON"))
                return json_response(200, self.limits.set(body))
            except LimitSpecError as error:
                raise salesforce_error(400, "INVALID_LIMIT", str(error)) from None
        if route == "limits" and request.method == "DELETE":
            self.limits.clear()
            return Response(204)
        if route == "expire_tokens" and request.method == "POST":
            body = parse_json(request, salesforce_error(400, "JSON_PARSER_ERROR", "bad JSON"))
            self.limits.expire_tokens(str((body or {}).get("source", "")))
            return Response(204)
        if route == "late_record" and request.method == "POST":
            from aeglobal_pipeline.sandbox.late import commit_late_record

            body = parse_json(request, salesforce_error(400, "JSON_PARSER_ERROR", "bad JSON"))
            return json_response(200, commit_late_record(self, body))
        if route == "stats" and request.method == "GET":
            return json_response(200, self.stats.snapshot())
        if route == "stats" and request.method == "DELETE":
            self.stats.clear()
            return Response(204)
        raise salesforce_error(404, "NOT_FOUND", "The requested resource does not exist")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one TLS handshake per client connection
    timeout = 300
    app: SandboxApp

    def setup(self) -> None:
        super().setup()
        self.request.do_handshake()  # in this worker thread, not the accept loop

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        request = Request(self.command, url.path, parse_qs(url.query, keep_blank_values=True),
                          self.headers, body, self.path)
        response = self.app.handle(request)
        self.send_response(response.status)
        if response.body or response.status not in (204, 304):
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: request lines would be noise (and never carry tokens, which live in headers)."""


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that drop connections or reject the certificate are not server errors."""


def build_server(home: Path, port: int) -> SandboxServer:
    home = home.resolve()
    _, server_pem = ensure_certificates(home)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(server_pem))
    handler = type("BoundHandler", (Handler,), {"app": SandboxApp(home)})
    server = SandboxServer(("127.0.0.1", port), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


def server_info_path(home: Path) -> Path:
    return sandbox_dir(home) / "server.json"


def run(home: Path, port: int) -> None:
    """Serve until SIGTERM/SIGINT; advertise the endpoint in server.json meanwhile."""
    home = home.resolve()
    server = build_server(home, port)
    bound_port = server.server_address[1]
    info = {
        "pid": os.getpid(), "port": bound_port, "url": f"https://127.0.0.1:{bound_port}",
        "home": str(home), "ca_path": str(sandbox_dir(home) / "ca.pem"), "started_at": time.time(),
    }
    path = server_info_path(home)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(info, indent=2), encoding="utf-8")
    os.replace(temporary, path)

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()
        except (OSError, ValueError):
            pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    run(args.home, args.port)


if __name__ == "__main__":
    # Run the imported module's main: the API modules import this module by name, and its
    # classes (ApiError, ...) must be the same objects as the ones `__main__` would define.
    from aeglobal_pipeline.sandbox import server as imported

    imported.main()
