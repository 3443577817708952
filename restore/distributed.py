"""Training on several processes (torchrun): the world a training loop runs in."""
from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from restore.devices import pick_device


class World:
    """The processes of a run as torchrun starts them (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``); one process
    without torchrun. Under torchrun the process group is joined once — gloo on CPU, NCCL on CUDA — each rank
    draws its own batches, DistributedDataParallel averages the gradients, and only rank 0 validates, writes
    checkpoints and exports."""

    def __init__(self, *, single: bool = False) -> None:
        """``single``: one process whatever the environment says (a study's variants, a script)."""
        env = {} if single else os.environ
        self.size = int(env.get("WORLD_SIZE", "1"))
        self.rank = int(env.get("RANK", "0"))
        self.local_rank = int(env.get("LOCAL_RANK", "0"))

    @property
    def main(self) -> bool:
        return self.rank == 0

    def device(self, requested: str) -> torch.device:
        """The requested device, and on CUDA this rank's GPU; joins the process group on first use."""
        dev = pick_device(requested)
        if dev.type == "cuda" and self.size > 1:
            dev = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(dev)
        if self.size > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        return dev

    def rng(self, seed: int, step: int = 0) -> np.random.Generator:
        """This rank's batch stream (one process: exactly the stream it always had)."""
        if self.size == 1:
            return np.random.default_rng(seed if step == 0 else [seed, step])
        return np.random.default_rng([seed, step, 1000 + self.rank])

    def wrap(self, net: nn.Module, *, unused: bool = False) -> nn.Module:
        """``net`` for the training forward: DDP under torchrun (``unused``: some parameters sit out a step, as
        the other scales' upsamplers of a multi-scale SR net)."""
        if self.size == 1:
            return net
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(net, find_unused_parameters=unused)

    def close(self) -> None:
        if self.size > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.barrier()
                dist.destroy_process_group()
