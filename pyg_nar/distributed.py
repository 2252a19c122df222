r"""Data-parallel training over several processes (one per GPU, or several CPU processes),
with :mod:`torch.distributed` as ``torchrun`` starts it.

``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address in each
process's environment; :func:`init_distributed` joins the process group they describe (gloo
for the CPU, nccl for CUDA). While a group of more than one process is initialised,
:func:`pyg_nar.training.fit` trains data-parallel:

* every process walks the same seeded order of the training graphs, and each global batch
  of ``batch_size`` graphs is cut into one contiguous shard per process
  (:func:`shard_sizes`), so the processes together see exactly the batches one process
  would;
* each process predicts its shard; the predictions are gathered (:func:`gather_rows`) and
  every process computes the loss on the whole global batch, as one process would (pairwise
  ranking losses see every pair of the batch); the model is wrapped in
  :class:`~torch.nn.parallel.DistributedDataParallel`, whose gradient averaging then gives
  the one-process gradient of that loss;
* validation predictions are sharded and gathered the same way, so every process computes
  the same metric on all validation graphs and selects the same epoch;
* dropout draws differ per process (seed ``seed + rank``). On CUDA, batch norm is
  synchronised (:class:`torch.nn.SyncBatchNorm`); on the CPU, where torch has no synchronised
  batch norm, each process normalises over its own shard.

Only the process of rank 0 writes files (:func:`is_main_process`); :func:`main_process_first`
lets it build a dataset's processed files before the others read them.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator, Sequence

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = ["init_distributed", "is_distributed", "rank", "world_size", "is_main_process",
           "main_process_first", "barrier", "shard_sizes", "shard_range", "gather_rows",
           "broadcast_buffers", "ShardedBatchSampler"]


def init_distributed(backend: str | None = None, device: str | None = None) -> bool:
    r"""Join the process group ``torchrun`` describes in the environment, if it describes
    one of more than one process (``WORLD_SIZE > 1``) and none is initialised yet.

    Args:
        backend (str, optional): ``"gloo"`` or ``"nccl"``. (default: :obj:`None`: nccl when
            ``device`` is a CUDA device, else gloo)
        device (str, optional): the device setting of the run (:func:`pyg_nar.devices.
            resolve_device`); with CUDA, each process takes the GPU of its ``LOCAL_RANK``.

    Returns whether a process group of more than one process is initialised.
    """
    if is_distributed():
        return True
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    from pyg_nar.devices import resolve_device

    dev = resolve_device(device or "cpu")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    dist.init_process_group(backend or ("nccl" if dev.type == "cuda" else "gloo"))
    return is_distributed()


def is_distributed() -> bool:
    """Whether a process group of more than one process is initialised."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 outside a process group)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    """The number of processes (1 outside a process group)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """Whether this process writes files: rank 0, or the only process."""
    return rank() == 0


def barrier() -> None:
    """Wait for every process (a no-op outside a process group)."""
    if is_distributed():
        dist.barrier()


@contextmanager
def main_process_first() -> Iterator[None]:
    """The main process runs the block first (e.g. builds a dataset's processed files), the
    others after it (and so read what it wrote)."""
    if not is_main_process():
        barrier()
    try:
        yield
    finally:
        if is_main_process():
            barrier()


def shard_sizes(n: int, world: int | None = None) -> list[int]:
    """How ``n`` items split into contiguous shards, one per process: the first
    ``n % world`` shards hold one more (e.g. 13 over 2 processes: ``[7, 6]``)."""
    world = world_size() if world is None else world
    base, extra = divmod(n, world)
    return [base + (r < extra) for r in range(world)]


def shard_range(n: int, rank_: int | None = None, world: int | None = None) -> tuple[int, int]:
    """``(start, stop)`` of this process's contiguous shard of ``n`` items."""
    sizes = shard_sizes(n, world)
    r = rank() if rank_ is None else rank_
    start = sum(sizes[:r])
    return start, start + sizes[r]


def gather_rows(local: Tensor, sizes: Sequence[int]) -> Tensor:
    r"""Every process's ``local`` rows, concatenated in rank order (the same tensor on every
    process); process ``r`` passes its ``sizes[r]`` rows. The gathered rows are detached, except
    this process's own, which keep their autograd history.

    Shapes:
        - **input:** :math:`[\text{sizes[rank]}, *]`
        - **output:** :math:`[\sum \text{sizes}, *]`
    """
    if not is_distributed():
        return local
    width = max(max(sizes), 1)
    padded = local.detach().new_zeros((width, *local.shape[1:]))
    padded[:local.size(0)] = local.detach()
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded.contiguous())
    me = rank()
    return torch.cat([local if r == me else parts[r][:n] for r, n in enumerate(sizes)])


def broadcast_buffers(module: torch.nn.Module) -> None:
    """Give every process rank 0's buffers (e.g. batch-norm running statistics), so that the
    processes evaluate one and the same model."""
    if is_distributed():
        for buf in module.buffers():
            dist.broadcast(buf.data, 0)


class ShardedBatchSampler(torch.utils.data.Sampler):
    r"""This process's contiguous shard of each batch of ``batch_sampler`` (the global
    batches, in the same order on every process, e.g. a seeded
    :class:`~torch.utils.data.BatchSampler`).

    A process whose shard of a small last batch is empty gets the batch's first index as a
    placeholder, so that every process runs its forward and backward passes (which
    :class:`~torch.nn.parallel.DistributedDataParallel` needs); ``shard_sizes(len(global
    batch))`` tells how many graphs each process really holds (0 for a placeholder).

    Args:
        batch_sampler (Sampler): yields the global batches (lists of indices).
        rank (int, optional): this process. (default: :func:`rank`)
        world (int, optional): the number of processes. (default: :func:`world_size`)
    """

    def __init__(self, batch_sampler, rank: int | None = None, world: int | None = None):
        self.batch_sampler = batch_sampler
        self.rank = globals()["rank"]() if rank is None else rank
        self.world = world_size() if world is None else world

    def __iter__(self):
        for batch in self.batch_sampler:
            batch = list(batch)
            start, stop = shard_range(len(batch), self.rank, self.world)
            yield batch[start:stop] if stop > start else batch[:1]

    def __len__(self) -> int:
        return len(self.batch_sampler)
