"""Raw files are checked against the registry's SHA-256, and processed caches are keyed on the root and the raw
files' contents, so a bad file neither trains silently nor poisons the cache for intact files."""
import dataclasses
import hashlib
import json
import os
import shutil

import pytest
import torch

from graphcl.data import ChecksumError, data_root, dataset_available, dataset_info, load_graph
from graphcl.data import loaders


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHCL_CACHE", str(tmp_path / "cache"))


def test_truncated_cora_file_is_refused_naming_file_and_digests(tmp_path):
    if not dataset_available("Cora"):
        pytest.skip("Cora not under the data root")
    root = tmp_path / "root"
    shutil.copytree(data_root() / "Cora", root / "Cora")
    bad = root / "Cora" / "raw" / "ind.cora.test.index"
    os.chmod(bad, 0o644)
    bad.write_bytes(bad.read_bytes()[:2000])
    got = hashlib.sha256(bad.read_bytes()).hexdigest()
    expected = dataset_info("Cora").sha256["raw/ind.cora.test.index"]
    with pytest.raises(ChecksumError) as err:
        load_graph("Cora", root=root, download=False)
    message = str(err.value)
    assert "\n" not in message and str(bad) in message and got in message and expected in message
    # the intact files still load, from their own cache
    assert load_graph("Cora", download=False).num_nodes == 2708


def _wikics_json(path, num_nodes):
    path.parent.mkdir(parents=True, exist_ok=True)
    links = [[(i + 1) % num_nodes] for i in range(num_nodes)]
    path.write_text(json.dumps({
        "features": [[float(i), 1.0] for i in range(num_nodes)], "labels": [i % 2 for i in range(num_nodes)],
        "links": links, "train_masks": [[True] * num_nodes], "val_masks": [[False] * num_nodes],
        "stopping_masks": [[False] * num_nodes], "test_mask": [False] * num_nodes}))


def test_pyg_cache_follows_root_and_contents(tmp_path):
    """WikiCS has no published digest here: the processed folder must still not be shared by different files."""
    a, b = tmp_path / "a", tmp_path / "b"
    _wikics_json(a / "WikiCS" / "raw" / "data.json", 5)
    _wikics_json(b / "WikiCS" / "raw" / "data.json", 7)
    assert load_graph("WikiCS", root=a, download=False).num_nodes == 5
    assert load_graph("WikiCS", root=b, download=False).num_nodes == 7
    _wikics_json(a / "WikiCS" / "raw" / "data.json", 6)  # the file changed in place
    assert load_graph("WikiCS", root=a, download=False).num_nodes == 6


def test_file_loader_cache_follows_contents(tmp_path, monkeypatch):
    """The SDCN/ADGC cache was keyed on the name and the files' modification time only."""
    if not dataset_available("bat"):
        pytest.skip("bat not under the data root")
    info = dataclasses.replace(dataset_info("bat"), sha256={})  # no digest: only the cache key protects us
    monkeypatch.setattr(loaders, "dataset_info", lambda name: info)
    import io
    import zipfile

    import numpy as np

    root = tmp_path / "root"
    (root / info.folder).mkdir(parents=True)
    zip_path = root / info.folder / "bat.zip"
    shutil.copy(data_root() / info.folder / "bat.zip", zip_path)
    first = load_graph("bat", root=root)
    assert first.num_nodes == 131
    buffers = {}
    for part, array in (("feat", np.eye(4, dtype=np.float32)), ("label", np.arange(4) % 2),
                        ("adj", np.roll(np.eye(4), 1, axis=1))):
        buffers[part] = io.BytesIO()
        np.save(buffers[part], array)
    with zipfile.ZipFile(zip_path, "w") as archive:
        for part, buf in buffers.items():
            archive.writestr(f"bat_{part}.npy", buf.getvalue())
    os.utime(zip_path, (1, 1))  # older than the cache, as a file restored from a backup would be
    again = load_graph("bat", root=root)
    assert again.num_nodes == 4 and torch.equal(again.x, torch.eye(4))
