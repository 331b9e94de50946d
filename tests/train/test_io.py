import json
import os
import stat

import numpy as np
import pytest
import torch

from graphcl.train import write_json, write_npy, write_text, write_torch, write_yaml


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), np.float32("nan"), np.float64("inf")])
def test_write_json_is_strict(tmp_path, value):
    path = tmp_path / "m.json"
    write_json(path, {"a": value, "b": [1.5, value, {"c": value}], "d": np.int64(3), "e": torch.tensor(2.5)})
    text = path.read_text()
    loaded = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in {text}"))
    assert loaded == {"a": None, "b": [1.5, None, {"c": None}], "d": 3, "e": 2.5}


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_outputs_follow_the_umask(tmp_path, umask, mode):
    before = os.umask(umask)
    try:
        for name, write, obj in (("a.json", write_json, {"a": 1}), ("a.txt", write_text, "x"),
                                 ("a.yaml", write_yaml, {"a": 1}), ("a.npy", write_npy, np.zeros(2)),
                                 ("a.pt", write_torch, {"a": 1})):
            write(tmp_path / name, obj)
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    finally:
        os.umask(before)
