"""The shipped inpainting model through the product path: ``inpaint(image, mask)`` with the default method."""
from __future__ import annotations

import numpy as np
import pytest

from restore import inpaint
from restore.data import make_mask
from restore.catalogue import default_model, read_metadata, resolve


def _photos() -> list[np.ndarray]:
    from skimage import data as skdata

    # scikit-image's bundled photos: never seen in training (BSDS500 + T91), no network needed
    return [np.ascontiguousarray(getattr(skdata, n)()[::2, ::2]) for n in ("astronaut", "coffee", "chelsea")]


def _hole_psnr(out: np.ndarray, ref: np.ndarray, m: np.ndarray) -> float:
    d = out[m].astype(np.float64) - ref[m].astype(np.float64)
    return 10 * np.log10(255.0**2 / np.mean(d**2))


def test_default_inpainting_is_the_shipped_cnn() -> None:
    name = default_model("inpaint")
    assert name == "inpaint"
    meta = read_metadata(resolve(name))
    # the network's own gain over its pre-fill is on record, per mask family
    assert set(meta["training"]["val_gain_over_prefill"]) == {"thin", "thick", "box"}


@pytest.mark.parametrize("family", ["thin", "thick"])
def test_shipped_model_corrects_its_prefill(family: str) -> None:
    """The network's output in the hole differs from the pre-fill it is given and is closer to the truth on
    photos it never saw; known pixels come back bit-identical."""
    gains, moved = [], []
    for i, img in enumerate(_photos()):
        m = make_mask(family, *img.shape[:2], np.random.default_rng([7, i]))
        out = inpaint(img, m)
        pre = inpaint(img, m, method="pushpull")
        np.testing.assert_array_equal(out[~m], img[~m])
        moved.append(np.abs(out[m].astype(np.float64) - pre[m]).mean())
        gains.append(_hole_psnr(out, img, m) - _hole_psnr(pre, img, m))
    assert min(moved) > 0.5, f"the correction is only {min(moved):.2f} grey levels: a network that does nothing"
    assert np.mean(gains) > 0.05, f"mean gain over the pre-fill {np.mean(gains):+.3f} dB ({gains})"
