"""Super-resolution network: residual body at low resolution + interchangeable upsampler + bicubic skip."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from restore.models.blocks import ResBlock, check_padding_mode, conv
from restore.models.upsamplers import PixelShuffleUp, make_upsampler


def bicubic_kernel(scale: int, channels: int) -> torch.Tensor:
    """Bicubic ×scale upsampling as a 5×5 convolution to ``channels·scale²`` phases (then pixel shuffle).

    The taps are read off ``F.interpolate(mode="bicubic", align_corners=False)`` applied to impulses, so
    with replicate padding by 2 the result equals ``F.interpolate`` (to float rounding) — and runs ~8× faster
    on CPU, where PyTorch's bicubic kernel is scalar code and cost half of a small SR model's time.

    Shape:
        ``(channels·scale², 1, 5, 5)``: a grouped convolution (``groups=channels``), each input channel's
        ``scale²`` phases in turn — 1/channels of a dense block-diagonal kernel's work, with the same sums
        (2.4 → 0.9 ms per 256² input, 6 % of ``sr-fast-x4``'s forward).
    """
    n = 16
    taps = torch.zeros(scale, 5, dtype=torch.float64)
    for k in range(5):
        e = torch.zeros(1, 1, 1, n, dtype=torch.float64)
        e[..., n // 2 - 2 + k] = 1
        y = F.interpolate(e, scale_factor=(1, scale), mode="bicubic", align_corners=False)[0, 0, 0]
        taps[:, k] = y[(n // 2) * scale:(n // 2 + 1) * scale]
    k2 = torch.einsum("pa,qb->pqab", taps, taps).reshape(scale * scale, 5, 5)
    return k2.repeat(channels, 1, 1)[:, None].float()


class SRNet(nn.Module):
    """A small residual SR network (EDSR-style body, ESPCN-style tail) that predicts the residual over bicubic.

    All convolutions run at low resolution, so the cost per *output* pixel falls with ``scale²``; the
    bicubic skip lets the body learn only the missing detail, which converges an order of magnitude
    faster on a CPU budget than predicting the image.

    Args:
        in_ch, out_ch: image channels (3).
        base_ch: body width.
        n_blocks: residual blocks in the body (2 convs each).
        scale: 2, 3 or 4.
        upsampler: a name from ``UPSAMPLERS``.
        padding_mode: zeros | reflect | replicate | circular, for every convolution.
        act: activation name.

    Shape:
        ``(B, in_ch, H, W) → (B, out_ch, H*scale, W*scale)``; any H, W ≥ 1 (no padding needed).
    """

    task = "sr"
    #: what networks of several scales share when trained together (restore.train.MultiScaleSR)
    shared_parts = ("head", "body", "body_tail")
    #: bf16 autocast on CPU keeps PSNR within 0.01 dB (the skip stays float32): see engine.resolve_precision
    cpu_bf16 = True

    def __init__(self, in_ch: int = 3, out_ch: int = 3, base_ch: int = 32, n_blocks: int = 6, scale: int = 4,
                 upsampler: str = "pixelshuffle", padding_mode: str = "zeros", act: str = "relu") -> None:
        super().__init__()
        check_padding_mode(padding_mode)
        if scale not in (2, 3, 4):
            raise ValueError(f"scale must be 2, 3 or 4, not {scale}")
        self.scale = scale
        self.head = conv(in_ch, base_ch, 3, padding_mode=padding_mode)
        self.body = nn.Sequential(*[ResBlock(base_ch, padding_mode=padding_mode, act=act) for _ in range(n_blocks)])
        self.body_tail = conv(base_ch, base_ch, 3, padding_mode=padding_mode)
        self.up = make_upsampler(upsampler, base_ch, out_ch, scale, padding_mode=padding_mode)
        self.multiple = 1
        # not persistent: derived from the scale, so weight files stay as they were
        self.register_buffer("skip_kernel", bicubic_kernel(scale, in_ch), persistent=False)
        # input pixels an output pixel can depend on: every conv in series (counted at input resolution,
        # an overestimate for convs after upsampling) + 2 for the bicubic skip / pyramid kernels. The tiled
        # engine uses it as the context margin, which makes tiled output equal the untiled one.
        self.receptive_radius = 2 + sum(
            m.dilation[0] * (m.kernel_size[0] // 2) for m in self.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
        )
        # start as plain bicubic: a small last layer keeps the random residual from swamping the skip
        last = [m for m in self.up.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
        with torch.no_grad():
            last.weight.mul_(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head(x)
        feat = feat + self.body_tail(self.body(feat))
        # the skip carries the whole image: float32 whatever the autocast state (bf16 would round every output
        # pixel to 8 bits of mantissa); the body's residual is small, so reduced precision costs it little
        with torch.autocast(x.device.type, enabled=False):
            base = F.conv2d(F.pad(x.float(), (2, 2, 2, 2), mode="replicate"), self.skip_kernel,
                            groups=x.shape[1])
        if isinstance(self.up, PixelShuffleUp):
            # the skip joins before the shuffle: one shuffle, no full-resolution add. In place into the float32
            # skip: a bf16 residual is widened on the fly (out of place it was first copied to float32, and the
            # add took 1.5 ms of a 128² input's 7.8 ms through restore.upscale with a 4-channel net)
            return self.up.shuffle(base.add_(self.up.conv(feat)))
        return F.pixel_shuffle(base, self.scale) + self.up(feat)


def deepen_state(state: dict[str, torch.Tensor], n_blocks: int, fresh: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The weights of an SRNet with ``n_blocks`` body blocks that computes exactly what ``state``'s shallower
    net computes: the new blocks (appended after the old ones) get the fresh first convolution of ``fresh``
    and a zero second one, so each is ``x + 0 = x`` (bit-exact) until training moves it.

    This lets a deeper real-photo model be fine-tuned from a shipped one, and lets the shallower clean model be
    blended with it weight by weight (``restore.weights.blend_models``).

    Args:
        state: an SRNet's state dict.
        n_blocks: the body depth wanted, ≥ the depth of ``state``.
        fresh: the state dict of a freshly built SRNet of the wanted depth (its new blocks' first convs are used).

    Raises:
        ValueError: ``n_blocks`` is below the depth of ``state``.
    """
    have = len({k.split(".")[1] for k in state if k.startswith("body.")})
    if n_blocks < have:
        raise ValueError(f"cannot make a {have}-block SRNet shallower ({n_blocks} blocks)")
    out = dict(state)
    for i in range(have, n_blocks):
        for part in ("weight", "bias"):
            out[f"body.{i}.body.0.{part}"] = fresh[f"body.{i}.body.0.{part}"].clone()
            out[f"body.{i}.body.2.{part}"] = torch.zeros_like(fresh[f"body.{i}.body.2.{part}"])
    return out
