"""Shared fixtures. Tests run the real code at toy scale on the shared raw corpora."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_root() -> Path:
    """$DATA_ROOT, else shared/data beside the checkout (read-only; tests never write there)."""
    root = Path(os.environ.get("DATA_ROOT") or Path(__file__).resolve().parents[2] / "shared" / "data")
    if not root.is_dir():
        pytest.fail(f"data root {root} not found; set DATA_ROOT to the folder of raw corpora")
    return root
