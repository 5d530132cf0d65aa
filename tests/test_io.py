"""Atomic writes: whole files or nothing, with ordinary permissions."""

from __future__ import annotations

import os
import stat

import pytest

from headstart.io import atomic_write_bytes, read_json, write_json


def test_atomic_files_get_the_mode_a_plain_open_gives(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_json(tmp_path / "a" / "x.json", {"k": 1})
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        assert read_json(path) == {"k": 1}
    finally:
        os.umask(umask)


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "x.bin"
    atomic_write_bytes(target, b"old")

    class Boom(Exception):
        pass

    from headstart import io

    def write(_tmp: str) -> None:
        raise Boom

    with pytest.raises(Boom):
        io._atomic(target, write)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]
