"""Video throughput: frames per second of a whole run (decode → compute → encode, overlapped) against the
computation alone on frames already decoded in memory. A ratio near 1.0 means decoding and encoding hide behind
the network.

Two generated clips (a pan over a photograph from scikit-image, H.264 at crf 18):
  * ×2 upscale of a 480p clip (854×480 → 1708×960) with the default model;
  * logo removal on a 720p clip (a 240×72 logo), temporal inpainting with the default model; also the PSNR of
    the pixels outside the logo, output against source, both decoded (what re-encoding costs them).

Then the quality of temporal inpainting against filling each frame on its own, on 128×96 clips where the
truth is known (a logo pasted over a pan across a photograph; a static shot with sensor-like noise): PSNR in
the hole, and flicker = mean absolute frame-to-frame difference in the hole (the truth's own for reference).

    python benchmarks/video_bench.py [--frames 24] [--device auto] [--keep DIR] [--strip docs/video_logo_strip.jpg]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np


def pan_clip(path: Path, w: int, h: int, frames: int, logo: tuple[int, int, int, int] | None = None) -> Path:
    """A pan over ``skimage.data.astronaut`` (scaled up so the frame fits), 25 fps, libx264 crf 18."""
    import av
    from skimage import data

    img = data.astronaut()
    s = max(w, h) * 1.6 / img.shape[1]
    img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"crf": "18", "preset": "fast"}
        for t in range(frames):
            m = np.array([[1, 0, 20 + 3.3 * t], [0, 1, 30 + 0.7 * t]], np.float64)
            f = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
            if logo is not None:
                y0, y1, x0, x1 = logo
                f[y0:y1, x0:x1] = (235, 235, 235)
                f[y0 + 10:y1 - 10:6, x0 + 12:x1 - 12] = (30, 30, 120)
            fr = av.VideoFrame.from_ndarray(f, format="rgb24")
            fr.pts, fr.time_base = t, Fraction(1, 25)
            for p in vs.encode(fr.reformat(format="yuv420p", dst_colorspace="itu601")):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--keep", type=Path, default=None, help="write the clips and outputs here (else a temp folder)")
    ap.add_argument("--strip", type=Path, default=None,
                    help="also draw the logo clip's middle frame around the logo: source / each frame alone / temporal")
    args = ap.parse_args()

    import restore
    from restore.video import TemporalFiller, inpaint_video, read_frames, upscale_video

    tmp = tempfile.TemporaryDirectory()
    d = args.keep or Path(tmp.name)
    d.mkdir(parents=True, exist_ok=True)
    n = args.frames
    print(f"restore video benchmark: {n} frames per clip, device {args.device}")

    # ×2 of 480p
    src = pan_clip(d / "pan480.mp4", 854, 480, n)
    frames = [f.image for f in read_frames(src)]
    restore.upscale(frames[0][:64, :64], 2, device=args.device)  # load the model outside the timings
    t = time.perf_counter()
    for f in frames:
        restore.upscale(f, 2, device=args.device)
    compute = n / (time.perf_counter() - t)
    rep = upscale_video(src, d / "pan480_x2.mp4", 2, device=args.device, overwrite=True)
    print(f"x2 upscale 854x480 -> 1708x960: {rep.fps:.2f} fps end to end, {compute:.2f} fps compute alone, "
          f"ratio {rep.fps / compute:.2f} ({rep.codec} crf {rep.crf})")

    # logo removal on 720p
    box = (40, 112, 1000, 1240)
    src = pan_clip(d / "pan720_logo.mp4", 1280, 720, n, logo=box)
    holes = np.zeros((720, 1280), bool)
    holes[box[0]:box[1], box[2]:box[3]] = True
    cv2.imwrite(str(d / "logo_mask.png"), holes.astype(np.uint8) * 255)
    frames = [f for f in read_frames(src)]
    restore.inpaint(frames[0].image, holes, device=args.device)  # load the model
    fill = lambda im, m: restore.inpaint(im, m, device=args.device)  # noqa: E731
    t = time.perf_counter()
    tf = TemporalFiller(holes, fill)
    for f in frames:
        tf.push(f)
    tf.finish()
    compute = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for f in frames:
        fill(f.image, holes)
    per_frame = n / (time.perf_counter() - t)
    rep = inpaint_video(src, d / "pan720_clean.mp4", d / "logo_mask.png", device=args.device, overwrite=True)
    print(f"logo removal 1280x720 (240x72 hole, temporal): {rep.fps:.2f} fps end to end, {compute:.2f} fps "
          f"compute alone, ratio {rep.fps / compute:.2f}; {100 * rep.temporal.seen_fraction:.0f}% of hole pixels "
          f"from other frames; per-frame CNN alone {per_frame:.2f} fps ({rep.codec} crf {rep.crf})")
    a = np.stack([f.image[~holes] for f in frames]).astype(np.float64)
    b = np.stack([f.image[~holes] for f in read_frames(rep.dst)]).astype(np.float64)
    print(f"  outside the logo, output vs source (decoded): {_psnr(a, b):.1f} dB PSNR")
    if args.strip is not None:
        from restore.io import write_image

        k = n // 2
        y0, y1, x0, x1 = box[0] - 24, box[1] + 40, box[2] - 120, box[3] + 40
        out = [f.image for f in read_frames(rep.dst)][k]
        tiles = [frames[k].image, fill(frames[k].image, holes), out]
        strip = np.concatenate([np.pad(t[max(0, y0):y1, x0:x1], ((0, 4), (0, 4), (0, 0)), constant_values=255)
                                for t in tiles], axis=1)
        write_image(args.strip, strip, overwrite=True)
        print(f"  strip (source / each frame alone / temporal): {args.strip}")
    temporal_quality()
    tmp.cleanup()
    return 0


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b) ** 2)))


def temporal_quality() -> None:
    import restore
    from skimage import data

    from restore.video import TemporalFiller

    img = data.astronaut()
    h, w = 96, 128
    holes = np.zeros((h, w), bool)
    holes[56:80, 70:110] = True

    def view(y: float, x: float) -> np.ndarray:
        m = np.array([[1, 0, x], [0, 1, y]], np.float64)
        return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)

    def logo(f: np.ndarray) -> np.ndarray:
        f = f.copy()
        f[holes] = 240
        f[62:74:3, 74:106] = 20
        return f

    def flicker(fs: list[np.ndarray]) -> float:
        return float(np.mean([np.abs(fs[i][holes].astype(np.float64) - fs[i - 1][holes]).mean()
                              for i in range(1, len(fs))]))

    class F:
        def __init__(self, image: np.ndarray) -> None:
            self.image = image

    fill = lambda im, m: restore.inpaint(im, m)  # noqa: E731
    rng = np.random.default_rng(0)
    clips = {
        "pan (2.3, 0.4 px/frame), 16 frames": [view(150 + 0.4 * t, 100 + 2.3 * t) for t in range(16)],
        "static shot, noise sigma 6, 12 frames": [
            np.clip(view(150, 100) + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8) for _ in range(12)],
    }
    for name, truth in clips.items():
        src = [logo(t) for t in truth]
        per_frame = [fill(s, holes) for s in src]
        tf = TemporalFiller(holes, fill, window=8)
        out = []
        for s in src:
            out += [o for _, o in tf.push(F(s))]
        out += [o for _, o in tf.finish()]
        gt = np.stack(truth)[:, holes]
        print(f"temporal inpainting, {name}: hole PSNR {_psnr(np.stack(out)[:, holes], gt):.1f} dB "
              f"(each frame alone {_psnr(np.stack(per_frame)[:, holes], gt):.1f} dB); flicker {flicker(out):.2f} "
              f"(each frame alone {flicker(per_frame):.2f}, truth {flicker(truth):.2f}); "
              f"{100 * tf.stats.seen_fraction:.0f}% from other frames")


if __name__ == "__main__":
    sys.exit(main())
