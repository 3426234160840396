"""Render a local HTML page in headless Chromium and ask it what a reader would see wrong.

The Chrome DevTools protocol over ``--remote-debugging-pipe`` (JSON messages, NUL-terminated,
commands on the child's fd 3, replies on its fd 4): no port, no network, no Python dependency.
For a page it collects console errors and uncaught exceptions, runs OVERFLOW_JS (text cut by
its box: an SVG label outside its <svg>, an HTML element whose text is clipped or that pushes
the page wider than the window), and saves a full-page screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)
WIDTH, HEIGHT = 1280, 900

# What a reader sees cut: SVG text outside its <svg>'s box (the svg clips it), and HTML text
# clipped by its own box (overflow other than visible) or running past the window's width.
OVERFLOW_JS = r"""
(() => {
  const found = [];
  const slack = 0.5;
  for (const svg of document.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (r.width === 0) continue;
      if (r.left < box.left - slack || r.right > box.right + slack ||
          r.top < box.top - slack || r.bottom > box.bottom + slack) {
        found.push({kind: 'svg text outside its chart', text: t.textContent.trim(),
                    chart: svg.getAttribute('aria-label') || svg.getAttribute('data-chart') || '',
                    left: Math.round(r.left - box.left), right: Math.round(box.right - r.right)});
      }
    }
  }
  const limit = document.documentElement.clientWidth;
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('svg')) continue;
    const style = getComputedStyle(el);
    const text = (el.innerText || '').trim();
    if (!text) continue;
    const clips = style.overflowX !== 'visible' || style.textOverflow === 'ellipsis';
    if (clips && el.scrollWidth > el.clientWidth + 1) {
      found.push({kind: 'text clipped by its box', text: text.slice(0, 80), tag: el.tagName});
    }
    const r = el.getBoundingClientRect();
    if (r.right > limit + 1 && el.children.length === 0) {
      found.push({kind: 'text past the window', text: text.slice(0, 80), tag: el.tagName,
                  right: Math.round(r.right), window: limit});
    }
  }
  return found;
})()
"""


@dataclass
class Rendered:
    """What the browser reported for one page."""

    errors: list[str] = field(default_factory=list)
    overflow: list[dict[str, Any]] = field(default_factory=list)
    legends: list[dict[str, Any]] = field(default_factory=list)
    screenshot: Path | None = None


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


class Browser:
    """One headless Chromium with a fresh profile, driven over the DevTools pipe."""

    def __init__(self, binary: str, timeout: float = 60.0) -> None:
        self.profile = tempfile.mkdtemp(prefix="synthgen-chromium-")
        self.timeout = timeout
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def wire() -> None:  # in the child: the pipe's ends on fds 3 and 4 (via fresh fds, so
            # one end already on 3 or 4 is not overwritten before it is moved)
            inbound, outbound = os.dup(to_child), os.dup(from_child)
            os.dup2(inbound, 3)
            os.dup2(outbound, 4)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire, pass_fds=(3, 4),  # kept open past the child's fd clean-up
        )  # fmt: skip
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def _send(self, method: str, params: dict[str, Any] | None, session: str | None) -> int:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        return self._next

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed its DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """Send a command and wait for its reply; events seen meanwhile are kept."""
        wanted = self._send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._receive(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(
            e.get("method") == method and e.get("sessionId") == session for e in self.events
        ):
            self.events.append(self._receive(deadline))

    def render(self, page: Path, screenshot: Path) -> Rendered:
        """Load `page`, report its console errors and overflow, save a full-page screenshot."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        self.events.clear()
        self.call("Page.navigate", {"url": page.resolve().as_uri()}, session)
        self.wait_for("Page.loadEventFired", session)
        found = Rendered()
        found.overflow = self.evaluate(OVERFLOW_JS, session)
        found.legends = self.evaluate(LEGENDS_JS, session)
        found.errors = [_error_text(e) for e in self.events if _is_error(e)]
        shot = self.call(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session
        )
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        found.screenshot = screenshot
        self.call("Target.closeTarget", {"targetId": target})
        return found

    def evaluate(self, script: str, session: str) -> Any:
        reply = self.call(
            "Runtime.evaluate", {"expression": script, "returnByValue": True}, session
        )
        if "exceptionDetails" in reply:
            raise RuntimeError(f"page script failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already gone: stopped below
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._write)
        os.close(self._read)
        shutil.rmtree(self.profile, ignore_errors=True)


# Every chart with more than one series says which is which: a legend element naming each.
LEGENDS_JS = r"""
(() => Array.from(document.querySelectorAll('svg')).map(svg => {
  const series = new Set();
  for (const el of svg.querySelectorAll('[data-series]')) series.add(el.dataset.series);
  for (const g of svg.querySelectorAll('g.series')) {
    if (!g.dataset.series && g.classList.length > 1) series.add(g.classList[1]);
  }
  const legend = Array.from(svg.querySelectorAll('.legend text')).map(t => t.textContent.trim());
  return {chart: svg.getAttribute('aria-label') || svg.getAttribute('data-chart') || '',
          series: Array.from(series), legend};
}))()
"""


def _is_error(event: dict[str, Any]) -> bool:
    method = event.get("method")
    params = event.get("params", {})
    if method == "Runtime.exceptionThrown":
        return True
    if method == "Runtime.consoleAPICalled":
        return bool(params.get("type") in ("error", "assert"))
    if method == "Log.entryAdded":
        return bool(params.get("entry", {}).get("level") == "error")
    return False


def _error_text(event: dict[str, Any]) -> str:
    params = event.get("params", {})
    if "entry" in params:
        return str(params["entry"].get("text"))
    if "exceptionDetails" in params:
        return str(params["exceptionDetails"].get("text"))
    return " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
