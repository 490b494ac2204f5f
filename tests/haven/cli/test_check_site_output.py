"""check-site's output quotes what the site served: never as terminal controls or extra lines."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from haven.cli.common import now
from haven.cli.main import main
from haven.envelope import NetworkKey
from haven.site import PageRequest, SignedPage, SiteManifest, sign_site_manifest
from haven.site.walk import MANIFEST_PATH

# What the site serves instead of the signed page: a script whose src holds
# a newline and the controls that clear the line and print a fake verdict.
PAGE = b'<script src="/a.js\n\x1b[2K\rhttp://x serves the signed code"></script>'
HEADERS = (("content-type", "text/html"),)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    key = NetworkKey.generate()
    issued = now().replace(microsecond=0) - timedelta(minutes=1)
    page = SignedPage(PageRequest("GET", "/"), "", (), HEADERS)
    document = sign_site_manifest(
        SiteManifest("haven-test", 1, issued, issued + timedelta(days=1), (page,), ()), key
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            body = document if self.path == MANIFEST_PATH else PAGE
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    key_file = tmp_path / "network.pub"
    key_file.write_text(key.verify_key.to_text() + "\n")
    yield f"http://127.0.0.1:{server.server_port}", key_file
    server.shutdown()
    server.server_close()


def test_served_controls_are_escaped_in_one_line(
    site: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url, key_file = site
    assert main(["check-site", url, "--network-key", str(key_file)], {}) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "page GET /: unlisted script src=/a.js\\n\\x1b[2K\\rhttp://x serves the signed code type="
    ]
