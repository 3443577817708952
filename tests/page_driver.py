"""Driving `restore serve`'s page in the distribution's headless Chromium (Playwright, no browser download).

Used by the browser test (imported by name: pytest puts ``tests/`` on the path) and by ``scripts/page_demo.py``
(the README's screenshots and the timings through the page), which loads this file by its path; kept apart from
the test so both do exactly the same steps. It imports nothing from the test suite.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@contextmanager
def running_server(*args: str, timeout: float = 60.0) -> Iterator[str]:
    """``restore serve --port 0`` in a subprocess; yields its URL (read from what it prints)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "restore", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.time() + timeout
        url, seen = None, []
        while url is None:
            line = proc.stdout.readline()
            if not line:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("restore serve did not start: " + "".join(seen))
                continue
            seen.append(line)
            m = re.search(r"(http://\S+/)", line)
            url = m.group(1) if m else None
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def browser_page(url: str) -> Iterator[tuple[object, list[str]]]:
    """A Chromium page at ``url``; yields ``(page, problems)`` where problems collects console errors and page
    exceptions."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            problems: list[str] = []
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(url)
            # selectors, not wait_for_function: the page's CSP forbids eval, which that would need
            page.wait_for_selector("#inpaint-method option:nth-child(2)", state="attached")
            yield page, problems
        finally:
            browser.close()


def open_image(page, path: Path) -> None:
    page.get_by_test_id("image-input").set_input_files(str(path))
    page.wait_for_selector("#view:not([hidden])")


def paint_stroke(page, points: list[tuple[float, float]], brush: int = 20) -> tuple[list[tuple[float, float]], float]:
    """Drag the mouse over ``points`` given as fractions of the canvas; returns the points in image pixels and
    the brush diameter in image pixels."""
    page.get_by_test_id("brush-size").evaluate(
        "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input')); }", brush)
    canvas = page.get_by_test_id("mask-canvas")
    box = canvas.bounding_box()
    nat_w, nat_h = canvas.evaluate("c => [c.width, c.height]")
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for p in xy[1:]:
        page.mouse.move(*p, steps=8)
    page.mouse.up()
    per_px = nat_w / box["width"]
    return [((x - box["x"]) * per_px, (y - box["y"]) * nat_h / box["height"]) for x, y in xy], brush * per_px


def run_and_wait(page, button: str, timeout_ms: float = 120_000) -> float:
    """Click ``button`` and wait for the new result; returns the page's own timing (click to displayed result)."""
    page.eval_on_selector("#result-image", "img => img.removeAttribute('data-ready')")
    page.get_by_test_id(button).click()
    page.wait_for_selector('#result-image[data-ready="true"]', state="attached", timeout=timeout_ms)
    return float(page.get_by_test_id("result-image").get_attribute("data-elapsed"))


def result_size(page) -> tuple[int, int]:
    return tuple(page.get_by_test_id("result-image").evaluate("i => [i.naturalWidth, i.naturalHeight]"))


def download(page, folder: Path) -> Path:
    with page.expect_download() as info:
        page.get_by_test_id("download").click()
    dl = info.value
    path = folder / dl.suggested_filename
    dl.save_as(str(path))
    return path
