"""Run by ``tests/test_distributed.py`` under ``torchrun``: :func:`pyg_nar.pipeline.train`
(NAR-Former without dropout, so the run is deterministic) on a small NAS-Bench-101 split,
recording every file this process opens for writing (Python's ``open`` audit events, and
``torch.save`` to a path, which opens the file in C++).

    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/_ddp_worker.py OUT CACHE LOG
"""
import json
import os
import sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def train_and_predict(out: str, cache: str) -> dict:
    """The run both sides of the test make: its result, and rank 0's predictions of all 500
    cells by the checkpoint it wrote."""
    from pyg_nar import distributed, pipeline
    from pyg_nar.checkpoint import load_checkpoint
    from pyg_nar.recipes import load_dataset
    from pyg_nar.training import predict

    result = pipeline.train("narformer", "nasbench101", out, protocol="flowerformer",
                            train_size=60, num_val=20, epochs=3, seed=0, cache=cache,
                            progress=False, batch_size=16,
                            model_kwargs=dict(dim=32, num_layers=1, head_dim=16, dropout=0.0))
    preds = None
    if distributed.is_main_process():
        model, transform, _ = load_checkpoint(out)
        preds = predict(model, load_dataset("nasbench101", cache, pre_transform=transform)).tolist()
    return {"rank": distributed.rank(), "world": distributed.world_size(), "result": result,
            "preds": preds}


def main() -> None:
    out, cache, log = sys.argv[1:4]
    written = []

    def audit(event, args):  # every open() for writing, by path
        if event == "open" and isinstance(args[0], str):
            mode, flags = args[1], args[2] or 0
            if not mode and flags & os.O_EXCL:  # tempfile.mkstemp reserving a name, written next
                return
            if (mode and any(c in mode for c in "wax+")) or flags & WRITE_FLAGS:
                written.append(os.path.abspath(args[0]))

    sys.addaudithook(audit)
    import torch

    save = torch.save

    def recorded_save(obj, f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)):
            written.append(os.path.abspath(f))
        return save(obj, f, *args, **kwargs)

    torch.save = recorded_save
    record = train_and_predict(out, cache)
    record["written"] = list(written)
    with open(f"{log}.rank{record['rank']}.json", "w") as f:
        json.dump(record, f)


if __name__ == "__main__":
    main()
