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
        cond_dim: 0, or the length of a condition vector (:func:`restore.compression.condition_vector`: how
            compressed the input says it is) that sets a per-channel scale and shift after the head, every
            block and the body tail (FiLM). Zero-initialised: the network computes exactly what it computes
            without it until training moves it, so a conditioned model starts from clean weights. A constant
            per image, so tiling stays exact.
        gated: with a condition: the network is the clean one it was started from (kept, frozen, in
            ``clean``) moved along what training changed by a learned gain of the condition, ``g(q)``, which is
            exactly 0 for the uncompressed condition: weights ``clean + g(q)·(trained − clean)``, FiLM scaled by
            ``g(q)`` too. An uncompressed input gets the clean network exactly; ``forward``'s ``strength``
            multiplies ``g`` (the real-photo strength of ``restore upscale --denoise``). One condition per
            batch. :meth:`freeze_clean` takes the current weights as the clean ones.
        unshuffle: for ``scale=1`` (restoration at the input's size): the body runs on the input
            pixel-unshuffled by this factor (1/unshuffle² of the pixels, ``in_ch·unshuffle²`` channels) and the
            residual over the input itself is shuffled back (the input's end padded to a multiple of it).
        block_grid: 0, or the period in input pixels of the grid a JPEG input was compressed on (16: 8×8 luma
            blocks and 4:2:0 chroma's 16×16): a learned per-channel bias for each position within the period
            (zero-initialised) is added after the head, so the network knows where the block edges are. A
            file's last compression starts its grid at the image's origin; the engine starts every tile on a
            multiple of it (``grid``), so tiling stays exact.
        luma_residual: the network predicts one residual per output pixel, added to R, G and B alike, which
            changes luma only (an equal step in R, G and B leaves BT.601's colour differences where they
            are): the colours are the bicubic skip's, as in the published Y-channel networks (FSRCNN, VDSR),
            and the upsampler's output convolution is a third of the size. ``scale`` ≥ 2 and ``out_ch`` 3.

    Shape:
        ``(B, in_ch, H, W) → (B, out_ch, H*scale, W*scale)``; any H, W ≥ 1 (no padding needed).
        With a condition: ``forward(x, cond)``, ``cond`` of shape ``(B, cond_dim)`` (default: the
        uncompressed condition).
    """

    task = "sr"
    #: what networks of several scales share when trained together (restore.train.MultiScaleSR)
    shared_parts = ("head", "body", "body_tail")
    #: bf16 autocast on CPU keeps PSNR within 0.01 dB (the skip stays float32): see engine.resolve_precision
    cpu_bf16 = True

    def __init__(self, in_ch: int = 3, out_ch: int = 3, base_ch: int = 32, n_blocks: int = 6, scale: int = 4,
                 upsampler: str = "pixelshuffle", padding_mode: str = "zeros", act: str = "relu",
                 cond_dim: int = 0, unshuffle: int = 1, gated: bool = False, block_grid: int = 0,
                 luma_residual: bool = False) -> None:
        super().__init__()
        check_padding_mode(padding_mode)
        if scale not in (1, 2, 3, 4):
            raise ValueError(f"scale must be 1, 2, 3 or 4, not {scale}")
        if unshuffle < 1 or (unshuffle > 1) != (scale == 1):
            raise ValueError("unshuffle (≥ 2) goes with scale 1, and only with it")
        if gated and not cond_dim:
            raise ValueError("a gated network needs a condition (cond_dim)")
        if scale == 1 and upsampler != "pixelshuffle":
            raise ValueError("scale 1 shuffles its residual back: upsampler must be pixelshuffle")
        if luma_residual and (scale == 1 or out_ch != 3 or in_ch != 3):
            raise ValueError("a luma residual goes with RGB in and out and a scale of 2, 3 or 4")
        self.scale, self.unshuffle, self.cond_dim, self.luma_residual = scale, unshuffle, cond_dim, luma_residual
        self.head = conv(in_ch * unshuffle * unshuffle, base_ch, 3, padding_mode=padding_mode)
        self.body = nn.Sequential(*[ResBlock(base_ch, padding_mode=padding_mode, act=act) for _ in range(n_blocks)])
        self.body_tail = conv(base_ch, base_ch, 3, padding_mode=padding_mode)
        self.up = make_upsampler(upsampler, base_ch, 1 if luma_residual else out_ch, scale * unshuffle,
                                 padding_mode=padding_mode)
        if block_grid and block_grid % unshuffle:
            raise ValueError(f"block_grid ({block_grid}) must be a multiple of unshuffle ({unshuffle})")
        # the network pads the image's end to a multiple of `multiple`; tiles start on multiples of `grid`
        self.multiple, self.grid = unshuffle, block_grid or unshuffle
        if block_grid:
            cells = block_grid // unshuffle
            self.grid_bias = nn.Parameter(torch.zeros(base_ch, cells, cells))
        if cond_dim:
            # one scale and one shift per channel after the head, each block and the tail
            self.cond = nn.Linear(cond_dim, 2 * base_ch * (n_blocks + 2))
            nn.init.zeros_(self.cond.weight)
            nn.init.zeros_(self.cond.bias)
            self.shared_parts = type(self).shared_parts + ("cond",)
        # not persistent: derived from the scale, so weight files stay as they were
        self.register_buffer("skip_kernel", bicubic_kernel(scale, in_ch), persistent=False)
        # input pixels an output pixel can depend on: every conv in series (counted at input resolution,
        # an overestimate for convs after upsampling) + 2 for the bicubic skip / pyramid kernels. The tiled
        # engine uses it as the context margin, which makes tiled output equal the untiled one.
        self.receptive_radius = 2 + unshuffle * sum(
            m.dilation[0] * (m.kernel_size[0] // 2) for m in self.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
        )
        # start as plain bicubic: a small last layer keeps the random residual from swamping the skip. At ×1 the
        # input is the answer to within a few levels, and any random residual is worse than none: a zero last
        # layer starts the net at the identity (a 0.1× one began 25 % above the identity's loss and had not
        # got below it after 6,000 steps)
        last = [m for m in self.up.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
        with torch.no_grad():
            last.weight.mul_(0.0 if scale == 1 else 0.1)
            if scale == 1 and last.bias is not None:
                last.bias.zero_()
        self.gated = gated
        if gated:
            self.gate = nn.Parameter(torch.ones(cond_dim))
            self.clean = nn.Module()  # the clean weights, one buffer per blended parameter
            for name, p in self._blended_parameters():
                self.clean.register_buffer(name.replace(".", "__"), p.detach().clone())

    def _blended_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(n, p) for n, p in self.named_parameters() if n != "gate" and not n.startswith("cond.")]

    def freeze_clean(self) -> None:
        """Take the current weights as the clean network a gated one is anchored to (after loading them)."""
        with torch.no_grad():
            for name, p in self._blended_parameters():
                getattr(self.clean, name.replace(".", "__")).copy_(p)

    def specialised(self, cond: torch.Tensor, strength: float = 1.0) -> SRNet:
        """A gated network fixed at one condition ``(1, cond_dim)`` and strength: a plain conditioned copy with
        the weights that condition gives (what inference runs: no per-call blending, and exportable)."""
        import copy

        g = float(self.condition_gain(cond.to(self.gate.device))[0]) * float(strength)
        out = copy.deepcopy(self)
        with torch.no_grad():
            for name, p in out._blended_parameters():
                if p.dim():
                    p.copy_(torch.lerp(getattr(out.clean, name.replace(".", "__")), p, g))
            out.cond.weight.mul_(g)
            out.cond.bias.mul_(g)
        del out.gate, out.clean
        out.gated = False
        return out

    def folded(self, cond: torch.Tensor) -> SRNet | None:
        """A conditioned network (not gated: :meth:`specialised` first) fixed at one condition ``(1, cond_dim)``
        as a plain one, every FiLM scale and shift folded into the convolutions around it
        (:meth:`folded_parameters`): the same function up to float rounding, without the per-layer modulation
        (about 15 % of a ×1 model's time on a CPU). ``None`` where a scale is too close to 0 to fold.
        """
        import copy

        with torch.no_grad():
            params = self.folded_parameters(cond)
            if params is None:
                return None
            out = copy.deepcopy(self)
            del out.cond
            out.cond_dim, out.shared_parts = 0, type(self).shared_parts
            for name, value in params.items():
                out.get_parameter(name).copy_(value)
        return out

    def folded_parameters(self, cond: torch.Tensor) -> dict[str, torch.Tensor] | None:
        """The parameters of the plain network that computes this conditioned one at one condition ``(1,
        cond_dim)``, by name, differentiable in this network's parameters (what quantisation-aware training
        quantises: :mod:`restore.qat`). ``None`` where a scale is too close to 0 for the division below.

        The skip path of block ``i`` carries the product ``D`` of the scales before it, which the block's first
        convolution takes on its input channels and its second (with the shift) undoes on its output; the
        head's and the tail's own scale and shift fold directly.

        Raises:
            ValueError: a gated network (:meth:`specialised` first) or one without a condition.
        """
        if self.gated or not self.cond_dim:
            raise ValueError("only a conditioned network that is not gated folds its condition (specialised first)")
        c = self.head.out_channels
        f = self.cond(cond.float().to(self.cond.weight.device))[0].view(-1, 2, c)
        gain, shift = 1 + f[:, 0], f[:, 1]
        # what the skip path carries into each block, and out of the last one
        carried = torch.cat([torch.ones_like(gain[:1]), torch.cumprod(gain[1:-1], 0)])
        if bool((carried.detach().abs() < 1e-3).any()):
            return None
        p = {n: t for n, t in self.named_parameters() if not n.startswith("cond.")}
        col = lambda v: v.view(-1, 1, 1, 1)  # noqa: E731  (per output channel)
        row = lambda v: v.view(1, -1, 1, 1)  # noqa: E731  (per input channel)
        p["head.weight"] = p["head.weight"] * col(gain[0])
        p["head.bias"] = p["head.bias"] * gain[0] + shift[0]
        if "grid_bias" in p:
            p["grid_bias"] = p["grid_bias"] * gain[0].view(-1, 1, 1)
        for i, block in enumerate(self.body):
            first, second, d = f"body.{i}.body.0", f"body.{i}.body.{len(block.body) - 1}", carried[i]
            p[f"{first}.weight"] = p[f"{first}.weight"] * row(d)
            p[f"{second}.weight"] = p[f"{second}.weight"] / col(d)
            p[f"{second}.bias"] = p[f"{second}.bias"] / d + shift[i + 1] / (carried[i + 1] * block.res_scale)
        p["body_tail.weight"] = p["body_tail.weight"] * row(carried[-1]) * col(gain[-1])
        p["body_tail.bias"] = p["body_tail.bias"] * gain[-1] + shift[-1]
        return p

    def condition_gain(self, cond: torch.Tensor) -> torch.Tensor:
        """``g(q)`` of a gated network for condition vectors ``(B, cond_dim)``: the learned gain at each knot,
        interpolated; the uncompressed knot's is 0 whatever was learned. Shape ``(B,)``."""
        mask = torch.ones_like(self.gate)
        mask[-1] = 0
        return cond.float() @ (self.gate * mask)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None, strength: float = 1.0,
                _blended: bool = False) -> torch.Tensor:
        if self.gated and not _blended:
            from restore.compression import condition_vector

            if cond is None:
                cond = condition_vector(None).to(x.device)[None].expand(x.shape[0], -1)
            g = self.condition_gain(cond[:1])[0] * strength
            # the weights for this condition (cheap: the network's parameters once, against its convolutions)
            weights = {n: torch.lerp(getattr(self.clean, n.replace(".", "__")), p, g) if p.dim() else p
                       for n, p in self._blended_parameters()}
            return torch.func.functional_call(self, weights, (x, cond), {"strength": strength, "_blended": True})
        h, w = x.shape[-2:]
        m = self.multiple
        ph, pw = -h % m, -w % m
        if ph or pw:  # whole unshuffle cells: the image's end padded (replicate), the output cropped back
            return self.forward(F.pad(x, (0, pw, 0, ph), mode="replicate"), cond, strength,
                                _blended)[..., :h * self.scale, :w * self.scale]
        if self.cond_dim:
            feat = self._conditioned_body(x, cond, strength)
        else:
            feat = self._head(x)
            feat = feat + self.body_tail(self.body(feat))
        if self.scale == 1:
            # the input itself is the skip, added in float32 (as the bicubic skip below) into the fresh residual
            return self.up.shuffle(self.up.conv(feat).float()).add_(x)
        # the skip carries the whole image: float32 whatever the autocast state (bf16 would round every output
        # pixel to 8 bits of mantissa); the body's residual is small, so reduced precision costs it little
        with torch.autocast(x.device.type, enabled=False):
            base = F.conv2d(F.pad(x.float(), (2, 2, 2, 2), mode="replicate"), self.skip_kernel,
                            groups=x.shape[1])
        if isinstance(self.up, PixelShuffleUp):
            if self.luma_residual:  # each colour's phases get the same residual phases. A concatenation
                # keeps the features' channels-last layout (repeat's copy is channels-first: the add and the
                # shuffle then took twice as long) and is one add that the int8 export finds beside the skip;
                # widened before it is tripled (a bf16 operand widened inside the add cost 25 % more)
                r = self.up.conv(feat).float()
                return self.up.shuffle(base.add_(torch.cat((r, r, r), 1)))
            # the skip joins before the shuffle: one shuffle, no full-resolution add. In place into the float32
            # skip: a bf16 residual is widened on the fly (out of place it was first copied to float32, and the
            # add took 1.5 ms of a 128² input's 7.8 ms through restore.upscale with a 4-channel net)
            return self.up.shuffle(base.add_(self.up.conv(feat)))
        return F.pixel_shuffle(base, self.scale) + self.up(feat)


    def _head(self, x: torch.Tensor) -> torch.Tensor:
        """The head's features of the input (whole grid cells) on the body's grid (pixel-unshuffled at ×1),
        plus the block-grid bias."""
        u = self.unshuffle
        feat = self.head(F.pixel_unshuffle(x, u) if u > 1 else x)
        if hasattr(self, "grid_bias"):
            feat = feat + self._grid_map(feat)
        return feat

    def _grid_map(self, feat: torch.Tensor) -> torch.Tensor:
        """The block-grid bias laid over a feature map's cells from its origin."""
        # each cell's place in the period, by index (an ONNX export keeps the sizes dynamic); laid out channels
        # last, as the convolutions' features are (an add across layouts took 17 % of a ×1 model's time)
        n = self.grid_bias.shape[-1]
        iy, ix = (torch.arange(feat.shape[d], device=feat.device) % n for d in (-2, -1))
        # cast while it is one period, not the whole map
        bias = self.grid_bias.to(feat.dtype).permute(1, 2, 0)
        return bias.index_select(0, iy).index_select(1, ix).permute(2, 0, 1)

    def _conditioned_body(self, x: torch.Tensor, cond: torch.Tensor | None, strength: float = 1.0) -> torch.Tensor:
        from restore.compression import condition_vector

        if cond is None:  # the uncompressed condition
            cond = condition_vector(None).to(x.device)[None].expand(x.shape[0], -1)
        film = self.cond(cond.float())
        if self.gated:  # no modulation where the gain is 0 (the uncompressed condition)
            film = film * (self.condition_gain(cond) * strength)[:, None]
        film = film.view(x.shape[0], -1, 2, self.head.out_channels, 1, 1)
        gain, shift = 1 + film[:, :, 0], film[:, :, 1]

        def mod(t: torch.Tensor, i: int) -> torch.Tensor:
            return t * gain[:, i].to(t.dtype) + shift[:, i].to(t.dtype)

        feat = mod(self._head(x), 0)
        h = feat
        for i, block in enumerate(self.body):
            h = mod(block(h), i + 1)
        return feat + mod(self.body_tail(h), len(self.body) + 1)


def luma_residual_state(state: dict[str, torch.Tensor], scale: int) -> dict[str, torch.Tensor]:
    """The weights of the ``luma_residual`` SRNet whose output has the luma of ``state``'s RGB-residual one:
    the upsampler's output convolution (``up.conv``: pixel shuffle's three colours' ``scale²`` phase kernels, or
    a resize-conv's three colours) becomes the luma-weighted sum of its colours (:data:`restore.pixels.LUMA_WEIGHTS`,
    which sum to 1: one residual added to R, G and B alike moves luma by itself), in a gated network's clean
    copy too; everything else is kept. Its colours are then the bicubic skip's.

    Args:
        state: the state dict of an SRNet with an RGB residual.
        scale: its scale.

    Raises:
        ValueError: the upsampler has no such convolution (a transposed or unpooling one, or a luma one already).
    """
    from restore.pixels import LUMA_WEIGHTS

    w = torch.tensor(LUMA_WEIGHTS, dtype=torch.float64)
    out = dict(state)
    keys = [k for k in state if k in ("up.conv.weight", "up.conv.bias", "clean.up__conv__weight",
                                      "clean.up__conv__bias")]
    if "up.conv.weight" not in keys:
        raise ValueError("a luma residual is made from an upsampler that ends in one convolution (pixelshuffle, "
                         "resize-conv)")
    for k in keys:
        t = state[k]
        if t.shape[0] % 3 or t.shape[0] // 3 not in (1, scale * scale):
            raise ValueError(f"an upsampler of {t.shape[0]} outputs is not an RGB one at ×{scale}")
        v = t.double().view(3, t.shape[0] // 3, *t.shape[1:])
        out[k] = torch.einsum("c,c...->...", w, v).to(t.dtype).contiguous()
    return out


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
    for part in ("weight", "bias"):
        # a conditioned net's FiLM rows, one group per layer (head, blocks, tail): the new blocks' rows are
        # zero (gain 1, shift 0) and go before the tail's
        if f"cond.{part}" in state:
            old = state[f"cond.{part}"].view(have + 2, -1, *state[f"cond.{part}"].shape[1:])
            new = torch.zeros(n_blocks - have, *old.shape[1:], dtype=old.dtype)
            out[f"cond.{part}"] = torch.cat([old[: have + 1], new, old[have + 1 :]]).flatten(0, 1)
    return out
