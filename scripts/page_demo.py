"""The README's screenshots of `restore serve` and the time of one inpaint and one ×4 upscale through the page.

    python scripts/page_demo.py --out docs/            # needs Chromium (apt-get install chromium) and the dev extra

Drives the page exactly as the browser test does (tests/page_driver.py): opens an image, paints a stroke with
the mouse, runs inpainting, sets the comparison slider, then upscales ×4. Each run is done ``--repeats`` times;
the first includes loading the model, so the median of the later ones is printed beside it.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load_page_driver():
    """tests/page_driver.py, loaded by its path: the one set of page steps, shared with the browser test."""
    spec = importlib.util.spec_from_file_location("page_driver", ROOT / "tests" / "page_driver.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses and the like look the module up by name
    spec.loader.exec_module(mod)
    return mod


_driver = _load_page_driver()
browser_page, open_image, paint_stroke = _driver.browser_page, _driver.open_image, _driver.paint_stroke
result_size, run_and_wait, running_server = _driver.result_size, _driver.run_and_wait, _driver.running_server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", type=Path, default=ROOT / "samples" / "coffee.png")
    ap.add_argument("--upscale-image", type=Path, default=ROOT / "samples" / "camera.png",
                    help="upscaled ×4 (its centre, at most 256×256, is cropped first)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--inpaint-method", default="auto",
                    help="the page's inpainting method; other than auto, only the fill is shot, as "
                         "serve_inpainted_<method>.jpg")
    args = ap.parse_args()
    import cv2

    from restore.io import read_image

    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(args.out) / ".page_demo"
    work.mkdir(exist_ok=True)
    small = read_image(args.upscale_image)
    h, w = small.shape[:2]
    side = min(256, h, w)
    crop = small[(h - side) // 2:(h + side) // 2, (w - side) // 2:(w + side) // 2]
    crop_path = work / "upscale_input.png"
    cv2.imwrite(str(crop_path), crop if crop.ndim == 2 else crop[:, :, ::-1])

    with running_server() as url, browser_page(url) as (page, problems):
        open_image(page, args.image)
        # a stroke over the spoon in scikit-image's coffee photo (fractions of the image)
        paint_stroke(page, [(0.705, 0.19), (0.68, 0.40), (0.655, 0.58), (0.61, 0.74), (0.60, 0.78)], brush=90)
        paint_stroke(page, [(0.64, 0.66), (0.61, 0.76), (0.58, 0.83), (0.555, 0.80)], brush=110)
        only_fill = args.inpaint_method != "auto"
        if only_fill:
            page.locator("#inpaint-method").select_option(args.inpaint_method)
        else:
            page.screenshot(path=str(args.out / "serve_mask.jpg"), quality=85)
        inpaint = [run_and_wait(page, "run-inpaint") for _ in range(args.repeats)]
        page.get_by_test_id("compare").fill("45")
        shot = f"serve_inpainted_{args.inpaint_method}.jpg" if only_fill else "serve_inpainted.jpg"
        page.screenshot(path=str(args.out / shot), quality=85)
        inpaint_size = result_size(page)
        if not only_fill:
            open_image(page, crop_path)
            page.get_by_test_id("scale-select").select_option("4")
            up = [run_and_wait(page, "run-upscale") for _ in range(args.repeats)]
            up_size = result_size(page)
            page.get_by_test_id("compare").fill("50")
            page.screenshot(path=str(args.out / "serve_upscaled.jpg"), quality=85)
    for p in work.iterdir():
        p.unlink()
    work.rmdir()
    if problems:
        print("console errors:", *problems, sep="\n  ")

    def show(name: str, times: list[float], size: tuple[int, int]) -> None:
        later = f", then median {statistics.median(times[1:]):.3f} s" if len(times) > 1 else ""
        print(f"{name} ({size[0]}×{size[1]} result): first {times[0]:.3f} s{later} "
              "(click to result displayed, through the page)")

    show(f"inpaint ({args.inpaint_method})", inpaint, inpaint_size)
    if only_fill:
        print(f"screenshot: {args.out / shot}")
        return
    show("upscale ×4", up, up_size)
    shots = ("serve_mask.jpg", "serve_inpainted.jpg", "serve_upscaled.jpg")
    print(f"screenshots: {', '.join(str(args.out / n) for n in shots)}")


if __name__ == "__main__":
    main()
