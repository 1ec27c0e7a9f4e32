"""Downloads, for real, from a local http.server on 127.0.0.1 (TOOLKIT_DATA_MIRROR points at it):
the checksum is checked before a file is kept, a wrong file leaves nothing behind, a job fetches a
missing corpus itself into the download root, and without network it says in one line what to run."""
from __future__ import annotations

import functools
import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import data
from data import DataError
from data_roots import download_root
from gpt.config import DataConfig

REPO = Path(__file__).resolve().parents[1]
SHAKESPEARE = "tinyshakespeare/input.txt"


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """(folder served, its URL): a real HTTP server on a free local port, stopped after the test."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.delenv("TOOLKIT_OFFLINE")
    monkeypatch.setenv("TOOLKIT_DATA_MIRROR", url)
    try:
        yield folder, url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _serve(folder: Path, rel: str, content: bytes) -> None:
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    (folder / rel).write_bytes(content)


def _tree(root: Path) -> list[Path]:
    return sorted(root.rglob("*")) if root.exists() else []


def test_download_checks_the_sha256_before_keeping_a_file(mirror, tmp_path, capsys):
    folder, url = mirror
    real = (REPO / "corpora" / SHAKESPEARE).read_bytes()
    _serve(folder, SHAKESPEARE, real[:-1] + b"!")            # one byte changed upstream
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match=rf"{url}/{SHAKESPEARE} has sha256 \w+, expected 86c4e6aa.*"
                                        r"nothing was written"):
        data.download("tinyshakespeare", dest)
    assert _tree(dest) == []                                  # no file, no temp file, no folder
    _serve(folder, SHAKESPEARE, real)
    data.cli(["download", "tinyshakespeare", "--data-root", str(dest)])
    assert capsys.readouterr().out.splitlines() == [f"wrote {dest / SHAKESPEARE}",
                                                    f"tinyshakespeare: files in {dest} verified"]
    assert (dest / SHAKESPEARE).read_bytes() == real and _tree(dest) == [dest / "tinyshakespeare",
                                                                         dest / SHAKESPEARE]
    (folder / SHAKESPEARE).unlink()                           # an intact copy is not fetched again
    assert data.download("tinyshakespeare", dest) == []


def test_a_missing_corpus_is_downloaded_into_the_download_root(mirror, data_root, tmp_path, monkeypatch):
    folder, _ = mirror
    for split in ("valid", "test"):
        _serve(folder, f"wikitext-2/{split}.txt", (data_root / f"wikitext-2/{split}.txt").read_bytes())
    monkeypatch.delenv("DATA_ROOT", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cfg = DataConfig(dataset="wikitext2", tokenizer="word", train_split="valid", val_split="test")
    corpus = data.load(cfg, 16, None, tmp_path / "cache")
    assert download_root() == tmp_path / "xdg/slm-toolkit/data"
    assert corpus.info["data_root"] == str(download_root()) and corpus.info["train_tokens"] == 217646
    assert [p.name for p in _tree(download_root()) if p.is_file()] == ["test.txt", "valid.txt"]


def test_a_read_only_data_root_is_never_written(mirror, data_root, tmp_path, monkeypatch):
    folder, _ = mirror
    rel = "birth_places/birth_dev.tsv"
    _serve(folder, rel, (data_root / rel).read_bytes())
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)   # no write bit: read-only for everyone, root included (data_roots.writable)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    try:
        assert data.dataset_file("birth_places", "birth_dev.tsv", read_only) == download_root() / rel
        assert _tree(read_only) == [] and (download_root() / rel).read_bytes() == (data_root / rel).read_bytes()
    finally:
        read_only.chmod(0o755)


def test_a_mirror_that_is_not_a_url_is_a_one_line_error(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_DATA_MIRROR", "mirror.example.org/data")   # no scheme
    with pytest.raises(DataError, match="TOOLKIT_DATA_MIRROR must be an http://, https:// or file:// URL"):
        data.download("tinyshakespeare", tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def _closed_port() -> int:
    with socket.socket() as s:   # bound then closed: nothing listens there, connections are refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_without_network_a_job_says_in_one_line_what_to_run(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_ROOT", "TOOLKIT_OFFLINE")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "xdg"), TOOLKIT_DATA_MIRROR=f"http://127.0.0.1:{_closed_port()}")
    res = subprocess.run([sys.executable, str(REPO / "main.py"), "full_run", "--preset", "smoke",
                          "data.dataset=wikitext2", "data.tokenizer=word", "data.train_split=valid",
                          "data.val_split=test"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("error: wikitext-2/valid.txt not found")
    assert "not downloaded: cannot fetch http://127.0.0.1:" in res.stderr
    assert "run `python data.py download wikitext2` on a machine with internet" in res.stderr
    assert _tree(tmp_path) == []                              # no runs/, no .cache/, no download root
    with pytest.raises(DataError, match=r"not downloaded: TOOLKIT_OFFLINE is set, so https://\S+ was not "
                                        r"fetched; run `python data.py download sst2 --data-root "):
        data.dataset_file("sst2", "valid", tmp_path)          # TOOLKIT_OFFLINE=1 (conftest) never tries
    assert _tree(tmp_path) == []
