"""A headless Chromium driven over the Chrome DevTools Protocol, standard library only.

Chromium talks CDP over two pipes when started with ``--remote-debugging-pipe``:
it reads commands on file descriptor 3 and writes replies and events on 4, each
message a JSON object ended by a NUL byte. That is all a test needs to open a
page, watch its requests and console, run a line of JavaScript and take a
screenshot, with no websocket package and no port to collide on.

    >>> with Browser() as browser:
    ...     page = browser.open(Path("report.html"))
    >>> page.requests, page.errors, page.images, len(page.screenshot)

``find_chromium()`` names the binary (``$HEADSTART_CHROMIUM``, else chromium /
chromium-browser / google-chrome on the PATH) or returns None.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-default-browser-check",
    "--no-first-run",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
]
# Schemes that never leave the machine; any other request is a network request.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome:", "devtools:")


def find_chromium() -> str | None:
    env = os.environ.get("HEADSTART_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Page:
    """What one page load showed: requests, errors, images and a PNG screenshot."""

    url: str
    requests: list[str] = field(default_factory=list)  # every request's URL, local ones included
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, error log entries
    images: list[dict[str, Any]] = field(default_factory=list)  # {src, complete, naturalWidth, naturalHeight}
    screenshot: bytes = b""
    size: tuple[int, int] = (0, 0)  # the page's full width and height in CSS pixels

    @property
    def network_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)]


class Browser:
    """One headless Chromium process; ``open`` loads a page in a fresh tab."""

    def __init__(self, binary: str | None = None, width: int = 1280, height: int = 900, timeout: float = 30.0):
        self.binary = binary or find_chromium()
        if self.binary is None:
            raise FileNotFoundError("no chromium binary found")
        self.width, self.height, self.timeout = width, height, timeout
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []

    # ------------------------------------------------------------ process
    def __enter__(self) -> Browser:
        self._profile = tempfile.mkdtemp(prefix="headstart-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def child_fds() -> None:
            # Move the pipe ends to 3 and 4 (via fds >= 10, so nothing is overwritten on the way).
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [self.binary, *FLAGS, f"--user-data-dir={self._profile}", f"--window-size={self.width},{self.height}"]
        self._proc = subprocess.Popen(
            [*args, "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=child_fds,
            close_fds=False,  # the pipes are non-inheritable; only the copies on 3 and 4 reach chromium
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        try:
            self.send("Browser.getVersion")
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if self._proc.poll() is None:
                try:
                    self.send("Browser.close", timeout=5)
                except Exception:
                    pass
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
        finally:
            for fd in (self._to_chrome, self._from_chrome):
                try:
                    os.close(fd)
                except OSError:
                    pass
            if self._proc.stderr is not None:
                self._proc.stderr.close()
            shutil.rmtree(self._profile, ignore_errors=True)

    # --------------------------------------------------------------- CDP
    def _read_message(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                err = self._proc.stderr.read().decode(errors="replace")[-2000:] if self._proc.stderr else ""
                raise RuntimeError(f"chromium closed the DevTools pipe (exit {self._proc.poll()}): {err}")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, event in enumerate(self._events):
                if event["method"] == method and event.get("sessionId") == session:
                    return self._events.pop(i)
            reply = self._read_message(deadline)
            if "method" in reply:
                self._events.append(reply)

    # -------------------------------------------------------------- pages
    def open(self, path: Path, settle: float = 0.3, max_height: int = 12000) -> Page:
        """Load ``path`` in a new tab; report its requests, errors, images and a full-page screenshot."""
        url = Path(path).resolve().as_uri()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self._events.clear()
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=session)
        page = Page(url)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired", session)
        time.sleep(settle)  # late console messages and image decodes
        check = "Array.from(document.images).map(i => ({src: i.src.slice(0, 40), complete: i.complete, "
        check += "naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight}))"
        page.images = self.send(
            "Runtime.evaluate", {"expression": check, "returnByValue": True, "awaitPromise": True}, session=session
        )["result"]["value"]
        size = self.send(
            "Runtime.evaluate",
            {
                "expression": "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]",
                "returnByValue": True,
            },
            session=session,
        )["result"]["value"]
        page.size = (int(size[0]), int(size[1]))
        height = min(page.size[1], max_height)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        shot = self.send(
            "Page.captureScreenshot",
            {"format": "png", "clip": {"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1}},
            session=session,
        )
        page.screenshot = base64.b64decode(shot["data"])
        # Everything the page did, from the events gathered while it loaded.
        self.send("Runtime.evaluate", {"expression": "1"}, session=session)  # flush pending events
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            p = event.get("params", {})
            if event["method"] == "Network.requestWillBeSent":
                page.requests.append(p["request"]["url"])
            elif event["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                page.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif event["method"] == "Runtime.exceptionThrown":
                page.errors.append(p.get("exceptionDetails", {}).get("text", "exception"))
            elif event["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                page.errors.append(f"{p['entry'].get('source')}: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        self._events.clear()
        self.send("Target.closeTarget", {"targetId": target})
        return page
