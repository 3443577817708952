"""Quantisation-aware training: an SR network trained as it will run in int8.

``--precision int8`` runs a network through ONNX Runtime's static quantisation
(:func:`restore.export.onnx_int8_bytes`): per-channel symmetric int8 weights, and every activation between layers
rounded to 256 levels over a calibrated range. A network trained in float32 loses to that rounding (a ×1 model
0.04–0.07 dB). :class:`QuantAware` simulates the same arithmetic in float during training — straight-through
rounding of the weights and of each activation ONNX Runtime quantises, over ranges that follow the training
batches — so the weights learn to sit where the rounding costs least.

What is simulated is the network as it is exported: a conditioned network with its condition folded in
(:meth:`restore.models.sr.SRNet.folded_parameters`, one fold per distinct condition in a batch), the upsampler's
convolution and the global residual add in float32 (as :func:`restore.export.float_tail_nodes` leaves them).
The activations' ranges are learned with the weights and recorded in the file (``int8_ranges``); the int8
export rounds to them instead of calibrating its own (:func:`restore.export.onnx_int8_bytes`), so the network
runs as it was trained — ranges calibrated afresh on other photos cost as much as no such training did.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

#: the share of an activation's values beyond each end of a training batch's range (ONNX Runtime's percentile
#: calibration clips as much: its 99.999th percentile)
RANGE_TAIL = 1e-5
#: how fast a range follows the batches (an exponential moving average of theirs)
RANGE_MOMENTUM = 0.99


def fake_quant_weight(w: torch.Tensor) -> torch.Tensor:
    """``w`` rounded as ONNX Runtime stores a per-channel int8 weight (symmetric, −127…127, one scale per output
    channel), with the straight-through gradient.

    Shape: ``(C_out, C_in, k, k)`` → the same.
    """
    scale = (w.detach().abs().amax(dim=tuple(range(1, w.dim()))).float() / 127).clamp_min(1e-12)
    zero = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
    return torch.fake_quantize_per_channel_affine(w.float(), scale, zero, 0, -127, 127).to(w.dtype)


class RangeQuant(nn.Module):
    """One activation rounded to 256 levels (uint8, affine) over a fixed range — what ONNX Runtime does to it —
    that training learns: a moving average of each batch's range less a :data:`RANGE_TAIL` share at each end,
    always holding 0 (from 0 for a ReLU's output, as ONNX Runtime's range after a fused ReLU). The range is the
    same for every input (the first batch sets it; eval mode keeps it), as in the int8 export, which is given
    it (``int8_ranges`` in the weights' metadata: :func:`restore.export.onnx_int8_bytes`)."""

    def __init__(self, relu: bool = False) -> None:
        super().__init__()
        self.relu = relu
        self.register_buffer("lo", torch.zeros(()))
        self.register_buffer("hi", torch.zeros(()))
        self.register_buffer("seen", torch.zeros((), dtype=torch.bool))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            with torch.no_grad():
                v = x.detach().reshape(-1)
                k = max(1, int(RANGE_TAIL * v.numel()) + 1)
                hi = torch.topk(v, k).values.min().float().clamp(min=0)
                lo = torch.zeros_like(hi) if self.relu else (-torch.topk(-v, k).values.min()).float().clamp(max=0)
                m = RANGE_MOMENTUM if bool(self.seen) else 0.0
                self.lo.mul_(m).add_(lo * (1 - m))
                self.hi.mul_(m).add_(hi * (1 - m))
                self.seen.fill_(True)
        if not bool(self.seen):
            return x
        scale = ((self.hi - self.lo) / 255).clamp_min(1e-8).float().reshape(1)
        zero = torch.round(-self.lo / scale).clamp(0, 255).to(torch.int32).reshape(1)
        return torch.fake_quantize_per_tensor_affine(x.float(), scale, zero, 0, 255).to(x.dtype)


class QuantAware(nn.Module):
    """An :class:`~restore.models.sr.SRNet` (single scale) trained through the rounding of its int8 export.

    The forward pass folds the condition (if any) into the weights, rounds every convolution's weights but the
    upsampler's (:func:`fake_quant_weight`), and runs them in a plain copy of the network whose head, ReLUs,
    block convolutions, residual adds and body tail round their outputs (:class:`RangeQuant`). The parameters
    trained are the wrapped network's own, so :meth:`export` gives it back unchanged in form.

    Args:
        net: the network; a gated one is refused (its weights move with the condition: specialise it first).

    Shape: as the network's; ``forward(x, cond)`` with ``cond`` ``(B, cond_dim)`` for a conditioned one (each
    distinct condition is one fold and one pass over its rows).

    Raises:
        ValueError: a gated network, or not an SRNet (a training-time form such as ``srnet-rep`` included).
    """

    def __init__(self, net: nn.Module) -> None:
        from restore.models.sr import SRNet

        super().__init__()
        # exactly SRNet: a training-time form (srnet-rep's branches) is not what the int8 export runs
        if type(net) is not SRNet or net.gated:
            raise ValueError("quantisation-aware training takes a plain or conditioned (not gated) SRNet")
        self.net = net
        # the folded network's structure: the same layers without the condition (its values come at each call)
        plain = copy.deepcopy(net)
        if net.cond_dim:
            del plain.cond
            plain.cond_dim = 0
        for p in plain.parameters():
            p.requires_grad_(False)
        object.__setattr__(self, "_plain", plain)  # not a submodule: its parameters are replaced at every call
        # the upsampler's convolution stays float32 in the export (restore.export.float_tail_nodes)
        self._float = {f"up.{n}.weight" for n, m in plain.up.named_modules()
                       if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))}
        points: dict[str, tuple[nn.Module, bool]] = {"head": (plain.head, False), "tail": (plain.body_tail, False)}
        for i, block in enumerate(plain.body):
            # a ReLU's output starts at 0, and so does its range (ONNX Runtime fuses it into the convolution)
            points[f"act{i}"] = (block.body[1], isinstance(block.body[1], nn.ReLU))
            points[f"res{i}"] = (block.body[-1], False)
            points[f"add{i}"] = (block, False)
        self.ranges = nn.ModuleDict({k: RangeQuant(relu) for k, (_, relu) in points.items()})
        for k, (module, _) in points.items():
            module.register_forward_hook(lambda _m, _i, out, q=self.ranges[k]: q(out))
        if hasattr(plain, "grid_bias"):  # the head's output plus the block-grid bias: rounded again, as exported
            self.ranges["head_grid"] = RangeQuant()
            plain._head = lambda x, q=self.ranges["head_grid"], f=plain._head: q(f(x))

    def _apply(self, fn, *args, **kwargs):  # the plain copy moves with the module (device, memory format)
        super()._apply(fn, *args, **kwargs)
        self._plain._apply(fn, *args, **kwargs)
        return self

    def _run(self, x: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
        params = {n: fake_quant_weight(t) if t.dim() == 4 and n not in self._float else t for n, t in params.items()}
        return torch.func.functional_call(self._plain, params, (x,))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if not self.net.cond_dim:
            return self._run(x, dict(self.net.named_parameters()))
        if cond is None:
            from restore.compression import condition_vector

            cond = condition_vector(None).to(x.device)[None].expand(x.shape[0], -1)
        kinds, which = torch.unique(cond.float(), dim=0, return_inverse=True)
        outs = []
        for k in range(kinds.shape[0]):
            params = self.net.folded_parameters(kinds[k:k + 1])
            if params is None:
                raise ValueError("a condition's scale is too close to 0 to fold: not quantisable")
            outs.append(self._run(x[which == k], params))
        if len(outs) == 1:
            return outs[0]
        out = outs[0].new_empty((x.shape[0], *outs[0].shape[1:]))
        for k, o in enumerate(outs):
            out[which == k] = o
        return out

    def int8_ranges(self) -> dict[str, list[float]]:
        """The learned range of each rounded activation, by point (``head``, ``head_grid``, ``act<i>``,
        ``res<i>``, ``add<i>``, ``tail``): what the weights file records for the int8 export."""
        return {k: [round(float(q.lo), 6), round(float(q.hi), 6)] for k, q in self.ranges.items()}

    def export(self) -> nn.Module:
        """The trained network, as it ships (the int8 export rounds it again, with ranges of its own)."""
        return self.net
