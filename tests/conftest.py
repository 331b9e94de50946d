"""Shared fixtures. Tests never download: GRAPHCL_OFFLINE=1; real data comes from $GRAPHCL_DATA when set
(CI: ../shared/datasets), else from ../shared/datasets beside the repository when it exists."""
import os
from pathlib import Path

os.environ.setdefault("GRAPHCL_OFFLINE", "1")
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if "GRAPHCL_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["GRAPHCL_DATA"] = str(_SHARED)

