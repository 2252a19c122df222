"""Speed of the TFRecord reader (pyg_nar.datasets.tfrecord): records of NAS-Bench-101's size
(about 480 bytes: a JSON row with a base64 ModelMetrics), both CRCs checked, against the same
CRC-32C computed one byte at a time in Python.

    python benchmarks/tfrecord_speed.py [--records 100000]
"""
import argparse
import base64
import json
import os
import struct
import tempfile
import time

import numpy as np

from pyg_nar.datasets.tfrecord import masked_crc32c, read_tfrecord


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100000)
    args = ap.parse_args()
    rng = np.random.RandomState(0)
    records = [json.dumps([f"{i:032x}", 108, "0" * 49, "input,conv3x3-bn-relu,maxpool3x3,output",
                           base64.b64encode(rng.bytes(250)).decode()]).encode()
               for i in range(args.records)]
    fd, path = tempfile.mkstemp(suffix=".tfrecord")
    try:
        with os.fdopen(fd, "wb") as f:
            for r in records:
                n = struct.pack("<Q", len(r))
                f.write(n + struct.pack("<I", masked_crc32c(n)) + r + struct.pack("<I", masked_crc32c(r)))
        size = os.path.getsize(path) / 1e6
        t = time.perf_counter()
        count = sum(1 for _ in read_tfrecord(path))
        read = time.perf_counter() - t
        sample = records[:2000]
        t = time.perf_counter()
        for r in sample:
            masked_crc32c(r)
        loop = (time.perf_counter() - t) * len(records) / len(sample)
        print(f"{count:,} records, {size:.1f} MB: read with both CRCs checked in {read:.2f} s "
              f"({size / read:.1f} MB/s); a byte loop's CRCs alone: {loop:.1f} s "
              f"({loop / read:.1f}x slower); the 499 MB nasbench_only108.tfrecord: "
              f"~{499 / (size / read):.0f} s")
    finally:
        os.remove(path)


if __name__ == "__main__":
    main()
