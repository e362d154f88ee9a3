"""Serve the dashboard on a local port and capture a page with headless Chromium.

Chromium's ``--screenshot`` flag shoots as soon as its virtual-time budget runs out, which can
be before Streamlit has sent the page over its websocket. `capture` therefore drives the same
headless Chromium over the DevTools protocol: it opens the page, waits until the script run has
finished and every chart has painted, then takes the screenshot.
"""

from __future__ import annotations

import base64
import contextlib
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


#: What a person sees of a rendered Streamlit page: its text, the error boxes (st.error), the
#: exception boxes (st.exception / uncaught errors) and dialogs (e.g. "Page not found").
PAGE_STATE_JS = """
(() => {
  const texts = (selector) => Array.from(document.querySelectorAll(selector)).map(e => e.innerText);
  return {
    text: document.body.innerText,
    errors: texts('[data-testid="stAlertContentError"]'),
    exceptions: texts('[data-testid="stException"]'),
    dialogs: texts('[role="dialog"]'),
    charts: document.querySelectorAll('[data-testid="stVegaLiteChart"]').length,
    url: location.href,
  };
})()
"""
DOCUMENT_READY_JS = "document.readyState === 'complete' && document.body !== null"


class _DevTools:
    """Minimal DevTools-protocol client over one page's open websocket; events it receives
    while waiting for answers are kept in ``events``."""

    def __init__(self, websocket) -> None:
        self._ws = websocket
        self._id = 0
        self.events: list[dict] = []

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
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")


class Browser:
    """One headless Chromium, driven over the DevTools protocol, for many pages.

    ``offline=True`` cuts its network (DevTools network emulation): only local files and
    ``http://127.0.0.1`` answer, as on a machine without network; requests that failed are in
    `failed_requests`.
    """

    def __init__(
        self,
        chromium: str | None = None,
        window_size: tuple[int, int] = (1400, 1000),
        timeout: float = 90.0,
        offline: bool = False,
    ) -> None:
        self.browser = chromium or find_chromium()
        if self.browser is None:
            raise ScreenshotError("Chromium not found (Debian: apt-get install chromium)")
        self.window_size = window_size
        self.timeout = timeout
        self.offline = offline
        self._stack = contextlib.ExitStack()
        self.devtools: _DevTools | None = None

    def __enter__(self) -> Browser:
        from websockets.sync.client import connect

        try:
            profile = self._stack.enter_context(
                tempfile.TemporaryDirectory(
                    prefix="governance-chromium-", ignore_cleanup_errors=True
                )
            )
            process = subprocess.Popen(
                [
                    self.browser,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                    f"--window-size={self.window_size[0]},{self.window_size[1]}",
                    "--remote-debugging-port=0",
                    "about:blank",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stopped as a whole below
            )
            self._stack.callback(_stop_group, process)
            deadline = time.monotonic() + self.timeout
            port_file = Path(profile) / "DevToolsActivePort"
            while not port_file.exists() or not port_file.read_text().strip():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise ScreenshotError(f"{self.browser} did not start its DevTools endpoint")
                time.sleep(0.1)
            port = port_file.read_text().split()[0]
            targets = json.loads(_get(f"http://127.0.0.1:{port}/json/list"))
            page = next(t for t in targets if t.get("type") == "page")
            websocket = self._stack.enter_context(
                connect(page["webSocketDebuggerUrl"], max_size=1 << 26, open_timeout=10)
            )
            self.devtools = _DevTools(websocket)
            self.devtools.call("Page.enable")
            self.devtools.call("Network.enable")
            if self.offline:
                self.devtools.call(
                    "Network.emulateNetworkConditions",
                    offline=True,
                    latency=0,
                    downloadThroughput=-1,
                    uploadThroughput=-1,
                )
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    @property
    def failed_requests(self) -> list[str]:
        """URLs of the requests that failed since the browser started."""
        assert self.devtools is not None
        sent = {
            e["params"]["requestId"]: e["params"]["request"]["url"]
            for e in self.devtools.events
            if e.get("method") == "Network.requestWillBeSent"
        }
        return [
            sent.get(e["params"]["requestId"], e["params"].get("errorText", "?"))
            for e in self.devtools.events
            if e.get("method") == "Network.loadingFailed"
        ]

    def open(self, url: str, ready_js: str = READY_JS, settle: float = 1.0) -> dict:
        """Navigate to `url`, wait until `ready_js` holds the same truthy value over two polls,
        then `settle` seconds; returns the page's state (PAGE_STATE_JS) with ``error_text``, the
        navigation error if the page could not be loaded at all."""
        assert self.devtools is not None
        navigation = self.devtools.call("Page.navigate", url=url)
        deadline = time.monotonic() + self.timeout
        last = None
        while not navigation.get("errorText"):
            ready = self.devtools.evaluate(ready_js)
            if ready is not False and ready is not None and ready == last:
                break  # ready and stable over two polls
            last = ready
            if time.monotonic() > deadline:
                raise ScreenshotError(f"{url} did not finish rendering in time")
            time.sleep(0.5)
        time.sleep(settle)
        state = self.devtools.evaluate(PAGE_STATE_JS) or {}
        return {**state, "error_text": navigation.get("errorText")}

    def screenshot(self, output: Path | str, full_page: bool = False) -> Path:
        """Save the current page as PNG; `full_page` grows the window to the whole page."""
        assert self.devtools is not None
        output = Path(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        if full_page:
            height = self.devtools.evaluate(FULL_HEIGHT_JS) or self.window_size[1]
            self.devtools.call(
                "Emulation.setDeviceMetricsOverride",
                width=self.window_size[0],
                height=int(min(max(height, self.window_size[1]), MAX_SCREENSHOT_HEIGHT)),
                deviceScaleFactor=1,
                mobile=False,
            )
            time.sleep(1.5)  # let the page lay out and charts repaint at the new size
        try:
            shot = self.devtools.call("Page.captureScreenshot", format="png")
        finally:
            if full_page:
                self.devtools.call("Emulation.clearDeviceMetricsOverride")
        output.write_bytes(base64.b64decode(shot["data"]))
        return output


#: Height of a Streamlit page's content (its main area scrolls inside the window).
FULL_HEIGHT_JS = """
(() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return Math.ceil(Math.max(document.body.scrollHeight, main ? main.scrollHeight : 0)) + 40;
})()
"""
MAX_SCREENSHOT_HEIGHT = 8000


def capture(
    url: str,
    output: Path | str,
    *,
    chromium: str | None = None,
    window_size: tuple[int, int] = (1400, 1000),
    timeout: float = 90.0,
    settle_seconds: float = 1.0,
    full_page: bool = False,
) -> Path:
    """Screenshot `url` once the Streamlit page has rendered; returns the PNG path."""
    with Browser(chromium, window_size=window_size, timeout=timeout) as browser:
        browser.open(url, settle=settle_seconds)
        return browser.screenshot(output, full_page=full_page)


def capture_pages(
    duckdb_path: Path | str,
    out_dir: Path | str,
    pages: dict[str, str],
    *,
    full_page: bool = True,
) -> dict[str, dict]:
    """Serve the dashboard over `duckdb_path` and save a screenshot of each page (name: URL path
    with its query) as ``<out_dir>/<name>.png``; returns each page's state (PAGE_STATE_JS)."""
    states = {}
    with serve(duckdb_path) as url, Browser() as browser:
        for name, path in pages.items():
            states[name] = browser.open(f"{url}/{path}")
            states[name]["png"] = str(browser.screenshot(Path(out_dir) / f"{name}.png", full_page))
    return states


def screenshot_pages(duckdb_path: Path | str) -> dict[str, str]:
    """Every page of the app as ``{name: URL path}``; the seller case page shows the riskiest
    seller that belongs to a syndicate (any seller when there is none)."""
    import duckdb

    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        try:
            row = con.execute(
                """
                select s.seller_id
                from detection.seller_risk_scores as s
                left join detection.seller_syndicates as m on s.seller_id = m.seller_id
                order by m.syndicate_id is null, s.risk_score desc, s.seller_id
                limit 1
                """
            ).fetchone()
        except duckdb.Error:
            row = None
    seller = f"seller?seller_id={row[0]}" if row else "seller"
    return {
        "overview": "overview",
        "alerts": "alerts",
        "strategies": "strategies",
        "syndicates": "syndicates",
        "seller": seller,
        "data-quality": "data-quality",
    }
