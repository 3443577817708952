"""Before/after pictures for the README (docs/*.png) from the shipped samples and models.

    python scripts/make_figures.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from restore import inpaint, upscale
from restore.data import mod_crop
from restore.degradations import degrade
from restore.io import read_image
from restore.masks import mask_from_alpha

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = ROOT / "docs"
    out.mkdir(exist_ok=True)
    hr = mod_crop(read_image(ROOT / "samples" / "astronaut.png")[:, :, :3], 4)
    lr = degrade(hr, 4)
    panels = [("input (×4 smaller)", np.kron(lr, np.ones((4, 4, 1), np.uint8))),
              ("bicubic", upscale(lr, 4, method="bicubic")),
              ("restore (CNN)", upscale(lr, 4)),
              ("original", hr)]
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
    for ax, (title, img) in zip(axes, panels):
        h, w = img.shape[:2]
        ax.imshow(img[h // 8: h // 8 + h // 2, w // 4: w // 4 + w // 2])
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out / "upscale_before_after.png", dpi=80)

    rgba = read_image(ROOT / "samples" / "chelsea_holes.png")
    holes = mask_from_alpha(rgba)
    rgb = np.ascontiguousarray(rgba[:, :, :3])
    shown = rgb.copy()
    shown[holes] = 255
    panels = [("input (holes)", shown), ("telea", inpaint(rgb, holes, method="telea")),
              ("restore (CNN)", inpaint(rgb, holes))]
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
    for ax, (title, img) in zip(axes, panels):
        ax.imshow(img)
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out / "inpaint_before_after.png", dpi=80)

    # a JPEG photo (quality 60) at ×4: the clean model sharpens the blocks, the real-photo model does not
    from restore.degradations import blockiness, jpeg

    hr = mod_crop(read_image(ROOT / "samples" / "coffee.png")[:, :, :3], 4)
    lr = jpeg(degrade(hr, 4).astype(np.float32), 60).astype(np.uint8)
    panels = [("JPEG q60 input (×4 nearest)", np.kron(lr, np.ones((4, 4, 1), np.uint8))),
              ("bicubic", upscale(lr, 4, method="bicubic")),
              ("sr-x4 (clean model)", upscale(lr, 4, method="sr-x4")),
              ("sr-real-x4", upscale(lr, 4, method="sr-real-x4", jpeg_quality=60)),
              ("original", hr)]
    fig, axes = plt.subplots(1, 5, figsize=(15, 3.6))
    for ax, (title, img) in zip(axes, panels):
        h, w = img.shape[:2]
        crop = img[h // 4: h // 4 + h // 3, w // 3: w // 3 + w // 3]
        ax.imshow(crop)
        extra = f"\nblockiness {blockiness(img, 32):.2f}" if title != panels[0][0] else ""
        ax.set_title(title + extra, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out / "real_photo_x4.png", dpi=80)
    denoise_figure(out / "denoise_q40.png")
    print("wrote docs/upscale_before_after.png, docs/inpaint_before_after.png, docs/real_photo_x4.png, "
          "docs/denoise_q40.png")


def denoise_figure(path: Path, quality: int = 40) -> None:
    """A crop at 100 % (one image pixel per screen pixel): a JPEG at ``quality`` / ``restore denoise`` of it /
    the original, labelled, side by side."""
    from PIL import Image, ImageDraw

    from restore import denoise
    from restore.compression import ijg_table
    from restore.degradations import jpeg

    from skimage import data

    hr = data.coffee()  # 600×400: the samples are too small for a crop at 100 %
    crop = (slice(110, 310), slice(300, 540))  # the saucer's rim, the spoon and the wood grain
    jpg = jpeg(hr.astype(np.float32), quality).astype(np.uint8)
    # what restore denoise gives the file: its model told the file's tables (OpenCV writes libjpeg's at the quality)
    restored = denoise(jpg, jpeg_tables=ijg_table(quality))
    panels = [(f"JPEG q{quality}", jpg), ("restore denoise", restored), ("original", hr)]
    gap, label = 8, 18
    sheet = Image.new("RGB", (3 * 240 + 2 * gap, 200 + label), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (title, img) in enumerate(panels):
        x = i * (240 + gap)
        sheet.paste(Image.fromarray(np.ascontiguousarray(img[crop])), (x, label))
        draw.text((x + 2, 3), title, fill="black")
    sheet.save(path)


if __name__ == "__main__":
    main()
