"""Shared fixtures. Tests run the real code at toy scale on the shared raw corpora."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Tests never use the network nor the user's download root (~/.cache/slm-toolkit/data): downloads
# are tested against a local file server (tests/test_data_download.py), which unsets these.
os.environ["TOOLKIT_OFFLINE"] = "1"
os.environ.setdefault("MPLCONFIGDIR", str(Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser()
                                          / "matplotlib"))   # matplotlib keeps its font cache
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="slm-tests-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], True)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """$DATA_ROOT, else shared/data beside the checkout (read-only; tests never write there)."""
    root = Path(os.environ.get("DATA_ROOT") or Path(__file__).resolve().parents[2] / "shared" / "data")
    if not root.is_dir():
        pytest.fail(f"data root {root} not found; set DATA_ROOT to the folder of raw corpora")
    return root
