"""`unspin serve`: where it may listen, and a real server answering the API."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner
from webdocs import ARTICLE

from unspin.cli.main import app as cli_app
from unspin.web import check_bind


def test_refuses_to_bind_beyond_localhost_without_a_key() -> None:
    from unspin.errors import UnspinError

    check_bind("127.0.0.1", None)
    check_bind("localhost", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", "key")
    for host in ("0.0.0.0", "192.168.1.5", "::"):
        with pytest.raises(UnspinError, match="API key"):
            check_bind(host, None)


def test_serve_command_refuses_open_bind_without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNSPIN_API_KEY", raising=False)
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "9"])
    assert result.exit_code == 2
    assert "API key" in result.output


def test_serve_on_a_damaged_database_says_so_in_one_line(tmp_path: Path) -> None:
    damaged = tmp_path / "unspin.db"
    damaged.write_bytes(b"\x13\x37 not a database " * 2000)
    result = CliRunner().invoke(cli_app, ["serve", "--db", str(damaged), "--port", "9"])
    assert result.exit_code == 2
    assert "cannot open the database" in result.output and "not a database" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 3


def test_serve_command_runs_the_app(tmp_path: Path) -> None:
    import socket
    import subprocess
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "UNSPIN_API_KEY"}
    cmd = [sys.executable, "-m", "unspin.cli.main", "serve", "--port", str(port)]
    server = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
                    assert json.load(r)["status"] == "ok"
                break
            except OSError:
                assert time.monotonic() < deadline, "unspin serve did not answer"
                time.sleep(0.2)
        payload = json.dumps({"text": ARTICLE}).encode()
        request = urllib.request.Request(
            base + "/api/analyze", data=payload, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            body = json.load(r)
        assert body["title"].startswith("Traitors") and body["url"] == f"{base}/a/{body['id']}"
        assert (tmp_path / "unspin.db").exists()  # the default database, in the current folder
    finally:
        server.terminate()
        server.wait(timeout=15)
