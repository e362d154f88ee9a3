"""Serve the dashboard on a local port and capture a page with headless Chromium.

Chromium's ``--screenshot`` flag shoots as soon as its virtual-time budget runs out, which can
be before Streamlit has sent the page over its websocket. `capture` therefore drives the same
headless Chromium over the DevTools protocol: it opens the page, waits until the script run has
finished and every chart has painted, then takes the screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from governance import settings

APP = Path(__file__).with_name("app.py")
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

# True once the script run is over (app.py's end-of-run marker is on the page, no "running"
# widget) and every chart container holds Vega's drawn marks (svg or canvas).
READY_JS = """
(() => {
  if (!document.getElementById('governance-page-rendered')) return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  const charts = document.querySelectorAll('[data-testid="stVegaLiteChart"]');
  for (const c of charts) {
    const marks = c.querySelector('svg.marks, canvas.marks');
    if (!marks || !marks.getAttribute('width')) return false;
  }
  return charts.length;
})()
"""


# Look of the app (the same for `governance dashboard` and screenshots).
THEME_OPTIONS = {
    "theme.base": "light",
    "theme.primaryColor": "#2563eb",
    "theme.backgroundColor": "#ffffff",
    "theme.secondaryBackgroundColor": "#f4f6fb",
    "theme.textColor": "#1f2a44",
    "client.toolbarMode": "minimal",
    "browser.gatherUsageStats": "false",
}


def streamlit_command(port: int, address: str = "localhost", headless: bool = False) -> list[str]:
    """`python -m streamlit run app.py` with the dashboard's server and theme options."""
    options = {
        **THEME_OPTIONS,
        "server.address": address,
        "server.port": str(port),
        "server.headless": "true" if headless else "false",
        "server.fileWatcherType": "none",
    }
    command = [sys.executable, "-m", "streamlit", "run", str(APP)]
    for key, value in options.items():
        command += [f"--{key}", value]
    return command


class ScreenshotError(RuntimeError):
    """The dashboard could not be served or captured."""


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (localhost)
        return response.read()


@contextmanager
def serve(
    duckdb_path: Path | str,
    port: int | None = None,
    timeout: float = 60.0,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run `streamlit run app.py` headless on localhost; yield its URL, stop it on exit."""
    port = port or free_port()
    env = {
        **os.environ,
        settings.DUCKDB_PATH_ENV: str(Path(duckdb_path).resolve()),
        **(extra_env or {}),
    }
    command = streamlit_command(port=port, address="127.0.0.1", headless=True)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(process, log, f"http://127.0.0.1:{port}", timeout)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(process: subprocess.Popen, log, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            log.seek(0)
            raise ScreenshotError(f"streamlit exited early:\n{log.read().decode()[-2000:]}")
        try:
            if _get(f"{url}/_stcore/health").strip() == b"ok":
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ScreenshotError(f"streamlit did not answer on {url} within {timeout:.0f}s")
        time.sleep(0.3)


def _stop_group(process: subprocess.Popen) -> None:
    """Stop a process started with start_new_session=True and every child in its group."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


class _DevTools:
    """Minimal DevTools-protocol client over one page's open websocket."""

    def __init__(self, websocket) -> None:
        self._ws = websocket
        self._id = 0

    def call(self, method: str, timeout: float = 30.0, **params) -> dict:
        self._id += 1
        self._ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == self._id:
                if "error" in message:
                    raise ScreenshotError(f"{method}: {message['error']}")
                return message.get("result", {})


def _shoot(devtools: _DevTools, url: str, output: Path, deadline: float, settle: float) -> None:
    devtools.call("Page.enable")
    devtools.call("Page.navigate", url=url)
    last = None
    while True:
        state = devtools.call("Runtime.evaluate", expression=READY_JS, returnByValue=True)
        ready = state.get("result", {}).get("value")
        if ready is not False and ready is not None and ready == last:
            break  # ready and stable over two polls
        last = ready
        if time.monotonic() > deadline:
            raise ScreenshotError(f"{url} did not finish rendering in time")
        time.sleep(0.5)
    time.sleep(settle)
    shot = devtools.call("Page.captureScreenshot", format="png")
    output.write_bytes(base64.b64decode(shot["data"]))


def capture(
    url: str,
    output: Path | str,
    *,
    chromium: str | None = None,
    window_size: tuple[int, int] = (1400, 1000),
    timeout: float = 90.0,
    settle_seconds: float = 1.0,
) -> Path:
    """Screenshot `url` once the Streamlit page has rendered; returns the PNG path."""
    from websockets.sync.client import connect

    browser = chromium or find_chromium()
    if browser is None:
        raise ScreenshotError("Chromium not found (Debian: apt-get install chromium)")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(
        prefix="governance-chromium-", ignore_cleanup_errors=True
    ) as profile:
        process = subprocess.Popen(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={window_size[0]},{window_size[1]}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopped as a whole below
        )
        try:
            deadline = time.monotonic() + timeout
            port_file = Path(profile) / "DevToolsActivePort"
            while not port_file.exists() or not port_file.read_text().strip():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise ScreenshotError(f"{browser} did not start its DevTools endpoint")
                time.sleep(0.1)
            port = port_file.read_text().split()[0]
            targets = json.loads(_get(f"http://127.0.0.1:{port}/json/list"))
            page = next(t for t in targets if t.get("type") == "page")
            with connect(page["webSocketDebuggerUrl"], max_size=1 << 26, open_timeout=10) as ws:
                _shoot(_DevTools(ws), url, output, deadline, settle_seconds)
        finally:
            _stop_group(process)
    return output
