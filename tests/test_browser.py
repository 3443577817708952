"""End to end in a real browser: `restore serve` driven through its page in the distribution's headless Chromium.

Skips where Chromium or Playwright is missing, except when ``RESTORE_REQUIRE_BROWSER=1`` (CI sets it): there a
missing browser fails the run. Screenshots go to ``$RESTORE_ARTIFACTS`` (else the test's temporary folder).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import SAMPLES
from page_driver import browser_page, chromium_path, download, open_image, paint_stroke, result_size, \
    run_and_wait, running_server

REQUIRED = os.environ.get("RESTORE_REQUIRE_BROWSER") == "1"


def _need(ok: bool, why: str) -> None:
    if not ok:
        if REQUIRED:
            pytest.fail(f"{why} (RESTORE_REQUIRE_BROWSER=1)")
        pytest.skip(why)


def _segment_distance(h: int, w: int, a: tuple[float, float], b: tuple[float, float]) -> np.ndarray:
    """Distance of every pixel centre from the segment a–b (image pixel coordinates, x right, y down)."""
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
    return np.hypot(xx - (ax + t * dx), yy - (ay + t * dy))


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("RESTORE_ARTIFACTS") or tmp_path_factory.mktemp("browser"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_paint_inpaint_compare_download_and_upscale_in_chromium(tmp_path, artifacts):
    _need(chromium_path() is not None, "no Chromium on this machine (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _need(False, "Playwright is not installed (the dev extra has it)")
    import cv2

    from restore.io import read_image

    src = read_image(SAMPLES / "astronaut.png")
    photo = cv2.resize(src, (200, 150), interpolation=cv2.INTER_AREA)
    path = tmp_path / "astronaut small.png"
    cv2.imwrite(str(path), photo[:, :, ::-1])

    with running_server() as url, browser_page(url) as (page, problems):
        open_image(page, path)
        assert page.get_by_test_id("run-inpaint").is_disabled()  # nothing painted yet
        (a, b), brush = paint_stroke(page, [(0.3, 0.45), (0.7, 0.55)], brush=24)
        assert page.get_by_test_id("run-inpaint").is_enabled()

        # undo / redo / clear (undoable) / eraser, by their buttons and the keyboard
        page.get_by_test_id("undo").click()
        assert page.get_by_test_id("run-inpaint").is_disabled()
        page.keyboard.press("Control+Shift+Z")
        assert page.get_by_test_id("run-inpaint").is_enabled()
        page.get_by_test_id("clear").click()
        assert page.get_by_test_id("run-inpaint").is_disabled()
        page.keyboard.press("Control+Z")
        assert page.get_by_test_id("run-inpaint").is_enabled()
        page.get_by_test_id("eraser").click()
        assert page.get_by_test_id("eraser").get_attribute("aria-pressed") == "true"
        page.keyboard.press("e")
        assert page.get_by_test_id("eraser").get_attribute("aria-pressed") == "false"
        page.screenshot(path=str(artifacts / "page_mask.png"))

        seconds = run_and_wait(page, "run-inpaint")
        assert result_size(page) == (200, 150)
        page.screenshot(path=str(artifacts / "page_inpainted.png"))
        saved = download(page, tmp_path)
        assert saved.name == "astronaut small_inpainted.png"
        out = read_image(saved)
        assert out.shape == photo.shape and out.dtype == photo.dtype
        dist = _segment_distance(150, 200, a, b)
        outside = dist > brush / 2 + 1.5  # anti-aliased brush edge included in the stroke
        assert np.array_equal(out[outside], photo[outside]), "pixels away from the stroke changed"
        core = dist < brush / 2 - 1.5
        changed = (out[core] != photo[core]).any(axis=1).mean()
        assert changed > 0.9, f"only {changed:.0%} of the stroke's pixels were filled: the mask is misplaced"
        print(f"\ninpaint through the page: {seconds:.3f} s")

        page.get_by_test_id("compare").fill("50")
        page.screenshot(path=str(artifacts / "page_compare.png"))

        page.get_by_test_id("scale-select").select_option("2")
        options = page.get_by_test_id("upscale-method").evaluate("s => [...s.options].map(o => o.value)")
        assert options[0] == "auto" and "sr-x2" in options and "lanczos" in options and "sr-x4" not in options
        seconds = run_and_wait(page, "run-upscale")
        assert result_size(page) == (400, 300)
        saved = download(page, tmp_path)
        assert saved.name == "astronaut small_x2.png" and read_image(saved).shape == (300, 400, 3)
        print(f"x2 upscale through the page: {seconds:.3f} s")
        page.screenshot(path=str(artifacts / "page_upscaled.png"))
        # painting again over a shown result brings the mask back (the canvas still takes the pointer)
        assert page.get_by_test_id("result-image").is_visible()
        paint_stroke(page, [(0.2, 0.2), (0.3, 0.3)], brush=10)
        assert page.get_by_test_id("result-image").is_hidden()
        assert problems == []

        # errors are shown on the page: one from the server (a 400 stood in by Playwright) and one from the browser
        page.route("**/api/upscale", lambda route: route.fulfill(status=400, json={"error": "bad scale '9'"}))
        page.get_by_test_id("run-upscale").click()
        page.wait_for_selector('[data-testid="error"]:not([hidden])')
        assert "bad scale '9'" in page.get_by_test_id("error").inner_text()
        assert page.get_by_test_id("run-upscale").is_enabled()  # the busy state ended
        page.unroute("**/api/upscale")
        notimage = tmp_path / "notes.png"
        notimage.write_text("not an image")
        page.get_by_test_id("image-input").set_input_files(str(notimage))
        page.wait_for_selector('[data-testid="error"]:has-text("notes.png")')
        assert "not an image" in page.get_by_test_id("error").inner_text()
        # a TIFF, which browsers do not display, is shown through the server's preview; the original is processed
        tiff = tmp_path / "scan.tif"
        cv2.imwrite(str(tiff), (photo[:, :, ::-1].astype(np.uint16) * 257))
        page.get_by_test_id("image-input").set_input_files(str(tiff))
        page.wait_for_selector('#status:has-text("scan.tif: 200×150")')
        assert page.get_by_test_id("error").is_hidden()
        page.get_by_test_id("scale-select").select_option("2")
        page.get_by_test_id("upscale-method").select_option("lanczos")  # a chosen method reaches the server
        run_and_wait(page, "run-upscale")
        assert "with lanczos" in page.locator("#status").inner_text()
        saved = download(page, tmp_path)
        assert saved.name == "scan_x2.png"
        big = read_image(saved)
        assert big.shape == (300, 400, 3) and big.dtype == np.uint16  # the 16-bit original, not the preview

        # Denoise sends the opened file itself (the server reads its JPEG tables) and the strength: seen by a
        # stand-in (Chromium leaves a file's bytes out of what it shows an interceptor), and answered by the server
        jpeg = tmp_path / "phone.jpg"
        cv2.imwrite(str(jpeg), photo[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 40])
        page.get_by_test_id("image-input").set_input_files(str(jpeg))
        page.wait_for_selector('#status:has-text("phone.jpg: 200×150")')
        assert page.get_by_test_id("run-denoise").is_enabled()
        page.get_by_test_id("denoise-strength").fill("0.5")
        sent: list[bytes] = []

        def stand_in(route) -> None:
            sent.append(route.request.post_data_buffer)
            route.fulfill(status=200, content_type="image/png", body=path.read_bytes(),
                          headers={"X-Restore-Model": "stand-in", "X-Restore-Seconds": "0.001"})

        page.route("**/api/denoise", stand_in)
        run_and_wait(page, "run-denoise")
        page.unroute("**/api/denoise")
        assert len(sent) == 1
        assert b'name="image"; filename="phone.jpg"\r\nContent-Type: image/jpeg' in sent[0]  # not a re-encoding
        assert b'name="strength"\r\n\r\n0.5\r\n' in sent[0]
        assert "Denoised (strength 0.5)" in page.locator("#status").inner_text()
        assert download(page, tmp_path).name == "phone_denoised.png"
        from restore.catalogue import default_model

        if default_model("sr", 1) is None:  # the server's own answer, shown on the page
            page.get_by_test_id("run-denoise").click()
            page.wait_for_selector('[data-testid="error"]:not([hidden])')
            assert "no restoration model (×1) is shipped" in page.get_by_test_id("error").inner_text()
        else:
            run_and_wait(page, "run-denoise")
            assert "strength 0.5; JPEG quality 40" in page.locator("#status").inner_text()
            assert read_image(download(page, tmp_path)).shape == photo.shape
        assert not [p for p in problems if p.startswith("page error")]
