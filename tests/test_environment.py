"""pyg_nar.environment (``pyg-nar info``) on a machine it cannot run on here: CUDA devices and
a torch that does not import."""
import builtins
import types

import torch

from pyg_nar import environment


def test_cuda_devices_are_listed_by_name(monkeypatch, tmp_path):
    props = types.SimpleNamespace(name="NVIDIA H200", major=9, minor=0, total_memory=140 * 2 ** 30)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: props)
    info = environment.environment_info(cache=str(tmp_path))
    devices = info["devices"]["cuda_devices"]
    assert [d["index"] for d in devices] == [0, 1]
    assert devices[0] == {"index": 0, "name": "NVIDIA H200", "capability": "9.0", "memory_gib": 140.0}
    text = environment.format_environment(info)
    assert "cuda:0           NVIDIA H200 (140.0 GiB, compute capability 9.0)" in text
    assert "cuda:1" in text and "no device" not in text


def test_a_report_comes_even_when_torch_does_not_import(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch":
            raise ImportError("libtorch_cpu.so: cannot open shared object file")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    info = environment.environment_info(cache=str(tmp_path))
    assert "libtorch_cpu.so" in info["devices"]["torch_error"]
    text = environment.format_environment(info)
    assert "cannot be imported: ImportError: libtorch_cpu.so" in text
    assert f"cache            {tmp_path} (empty)" in text
