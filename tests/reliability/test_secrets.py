"""Secrets: only from the environment, and never in logs, errors, the console or the archive.

Every ``SecretStr`` setting gets a distinctive value; every endpoint the commands talk to is a
hostile one that fails and echoes back everything it was sent (request line, headers, body), the
way some error pages do. Then the commands that exist run with ``-v`` (debug logging), and all
their output, the archive database and the files they write are searched for the secrets.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from civic_signal.config.errors import ConfigError
from civic_signal.config.settings import SECRET_KEYS, load_settings
from tests.conftest import REPO, SAMPLE

CLI = [sys.executable, "-m", "civic_signal.listener.cli", "-v"]


def secret_for(section: str, key: str) -> str:
    return f"SeCrEt-{section}-{key}-7f3a9c"


SECRETS = {f"CIVIC_{s.upper()}__{k.upper()}": secret_for(s, k) for s, k in sorted(SECRET_KEYS)}


class EchoServer:
    """Answers every request with an error whose body repeats the whole request."""

    def __init__(self, status: int = 500) -> None:
        server = self
        self.status = status
        self.requests: list[bytes] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _echo(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = f"{self.requestline}\n{self.headers}".encode() + body
                server.requests.append(seen)
                page = b"<html><body><h1>Internal error</h1><pre>you sent:\n" + seen + b"</pre></body></html>"
                self.send_response(server.status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            do_GET = do_POST = do_PUT = do_DELETE = _echo

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # clients that hang up are expected here

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "EchoServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def echo():
    with EchoServer() as srv:
        yield srv


def _env(tmp_path: Path, echo: EchoServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_") or k.startswith("CIVIC_REQUIRE_")}
    env.update(SECRETS)
    env.update({
        "CIVIC_DATABASE_URL": f"sqlite:///{tmp_path}/archive.db",
        "CIVIC_VAR_DIR": str(tmp_path / "var"),
        "CIVIC_CLASSIFIER__KIND": "keyword",
        "CIVIC_OPEN311__URL": f"{echo.base}/open311/v2/",
        "CIVIC_OPEN311__TIMEOUT_S": "3",
        "CIVIC_OPEN311__END_WAIT_S": "3",     # the run tries to deliver for 3 s at its end
        "CIVIC_OPEN311__RETRY_BASE_S": "0.5",  # and retries within that window
        "CIVIC_X__BASE_URL": echo.base,
        "CIVIC_MASTODON__STREAMING_URL": f"{echo.base}/api/v1/streaming",
        "CIVIC_DATASIFT__STREAM_URL": f"{echo.base}/datasift",
        "CIVIC_ALERTS__WEBHOOK_URL": f"{echo.base}/hook",
        "CIVIC_JETSTREAM__URL": echo.base.replace("http", "ws") + "/subscribe",
        "CIVIC_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "CIVIC_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "CIVIC_KAFKA__SASL_MECHANISM": "PLAIN",
        "CIVIC_KAFKA__SASL_USERNAME": "civic",
        "COLUMNS": "200",
    })
    return env


def _start(args: list[str], env: dict[str, str], stdin: bytes | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(CLI + args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
    if stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
        proc.stdin = None
    return proc


def _collect(proc: subprocess.Popen, for_s: float | None = None) -> bytes:
    """Output (stdout + stderr) of one command; a long-running one is stopped with Ctrl-C after ``for_s``."""
    try:
        out, _ = proc.communicate(timeout=for_s or 240)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    return out


def _run(args: list[str], env: dict[str, str], *, stdin: bytes | None = None, for_s: float | None = None) -> bytes:
    return _collect(_start(args, env, stdin), for_s)


def _leaks(blob: bytes) -> list[str]:
    return [name for name, value in SECRETS.items() if value.encode() in blob]


def test_every_secret_setting_is_covered():
    assert len(SECRETS) == len(SECRET_KEYS) >= 6


def test_a_secret_in_a_config_file_is_refused_and_the_error_does_not_repeat_it(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[open311]\napi_key = "{secret_for("open311", "api_key")}"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert "CIVIC_OPEN311__API_KEY" in str(err.value) and secret_for("open311", "api_key") not in str(err.value)


@pytest.mark.parametrize("name", ["CIVIC_OPEN311__APIKEY", "CIVIC_X__BEARER", "CIVIC_MASTODON__TOKEN_",
                                  "CIVIC_KAFKA__PASSWORD"])
def test_a_misspelt_secret_variable_is_refused_without_printing_its_value(monkeypatch, name):
    monkeypatch.setenv(name, "SeCrEt-misspelt-value")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert name in str(err.value) and "SeCrEt-misspelt-value" not in str(err.value)


def test_settings_reprs_and_dumps_mask_secrets(monkeypatch):
    from civic_signal.config.settings import masked_dump
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    s = load_settings()
    text = repr(s) + str(s) + str(masked_dump(s)) + s.model_dump_json()
    assert not _leaks(text.encode())
    assert s.open311.api_key.get_secret_value() == SECRETS["CIVIC_OPEN311__API_KEY"]


@pytest.mark.slow
def test_no_command_prints_logs_or_stores_a_secret(tmp_path, echo):
    env = _env(tmp_path, echo)
    outputs: dict[str, bytes] = {}
    stream = tmp_path / "s.jsonl"
    stream.write_bytes(b"\n".join(SAMPLE.read_bytes().splitlines()[:60]) + b"\n{broken\n")
    outputs["run"] = _run(["run", "--speed", "max", "--plain", "--path", str(stream)], env)
    # the rest side by side (they read the archive the run wrote, or talk to the hostile endpoint)
    jobs = {
        "config show": (["config", "show"], None, None),
        "config show --json": (["config", "show", "--json"], None, None),
        "classify": (["classify", "--kind", "keyword", "-"], b'{"text": "pothole on Main St"}\n{"text": 5}\n', None),
        "tickets": (["tickets", "--limit", "50"], None, None),
        "tickets --sync": (["tickets", "--sync"], None, None),
        "review list": (["review", "list"], None, None),
        "console --once": (["console", "--once", "--width", "160", "--height", "60"], None, None),
        "export": (["export", "--table", "tickets", "--out", str(tmp_path / "t.csv")], None, None),
        **{f"listen {src}": (["listen", "--source", src], None, 8.0)
           for src in ("x", "x-search", "mastodon", "datasift", "jetstream")},
        "run --bus kafka": (["run", "--bus", "kafka", "--speed", "max", "--path", str(stream)], None, 8.0),
    }
    procs = {name: (_start(args, env, stdin), for_s) for name, (args, stdin, for_s) in jobs.items()}
    for name, (proc, for_s) in procs.items():
        outputs[name] = _collect(proc, for_s)

    assert echo.requests, "the commands reached the hostile endpoint"
    assert any(SECRETS["CIVIC_OPEN311__API_KEY"].encode() in r or SECRETS["CIVIC_X__BEARER_TOKEN"].encode() in r
               for r in echo.requests), "a secret was sent to the endpoint, and echoed back"
    leaks = {name: _leaks(out) for name, out in outputs.items() if _leaks(out)}
    assert not leaks, {n: (leaks[n], outputs[n].decode(errors="replace")[-1500:]) for n in leaks}
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "s.jsonl")
    assert not _leaks(stored), "a secret is in the archive or a written file"
    assert b"**********" in outputs["config show"]
