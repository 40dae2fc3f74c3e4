"""One contract for both ways of noticing file changes (``stat`` and inotify), on real files and directories.

A signature must change whenever a file may have changed, including by another process, and (for the caches to be
worth anything) stay equal while nothing happened to it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from computeadvisor.adapters.file_signatures import FileSignatures, InotifySignatures, file_signature, inotify_available

needs_inotify = pytest.mark.skipif(not inotify_available(), reason="no inotify on this platform")


def _append(path: Path) -> None:
    with path.open("ab") as f:
        f.write(b"x")


def _replace(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(path.read_bytes() + b"y")
    tmp.replace(path)


def _truncate(path: Path) -> None:
    path.write_bytes(b"")


def _touch_back(path: Path) -> None:
    os.utime(path, ns=(10**18, 10**18))


def _delete(path: Path) -> None:
    path.unlink()


def _from_another_process(path: Path) -> None:
    code = "import sys; open(sys.argv[1], 'ab').write(b'from elsewhere')"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=30)


CHANGES: list[Callable[[Path], None]] = [_append, _replace, _truncate, _touch_back, _delete, _from_another_process]


@pytest.mark.parametrize("change", CHANGES, ids=lambda f: f.__name__.strip("_"))
def test_every_kind_of_change_is_seen(
    signatures: FileSignatures, tmp_path: Path, change: Callable[[Path], None]
) -> None:
    path = tmp_path / "data" / "state.json"
    path.parent.mkdir()
    path.write_bytes(b"{}")
    signature = signatures.watch(path, tmp_path / "data" / "other")
    before = signature()
    assert signature() == before
    change(path)
    after = signature()
    assert after != before
    assert signature() == after


def test_a_file_created_later_is_seen(signatures: FileSignatures, tmp_path: Path) -> None:
    signature = signatures.watch(tmp_path / "comfyvn.json")
    before = signature()
    (tmp_path / "comfyvn.json").write_bytes(b"{}")
    assert signature() != before


def test_changes_to_other_files_leave_the_signature_alone(signatures: FileSignatures, tmp_path: Path) -> None:
    mine, other = tmp_path / "mine.json", tmp_path / "other.json"
    mine.write_bytes(b"{}")
    other.write_bytes(b"{}")
    mine_signature, other_signature = signatures.watch(mine), signatures.watch(other)
    before, other_before = mine_signature(), other_signature()  # both asked about, so both are counted
    _append(other)
    _replace(other)
    (tmp_path / ".mine.json.tmp").write_bytes(b"noise")
    assert other_signature() != other_before
    assert mine_signature() == before


@pytest.mark.parametrize("depth", [1, 2])
def test_files_in_directories_created_later_are_seen(signatures: FileSignatures, tmp_path: Path, depth: int) -> None:
    directory = tmp_path.joinpath(*["config"] * depth)
    path = directory / "compute_providers.json"
    signature = signatures.watch(path)
    before = signature()
    assert signature() == before
    directory.mkdir(parents=True)
    middle = signature()  # the directory exists, the file not yet
    path.write_bytes(b"{}")
    after = signature()
    assert after != before and after != middle
    _append(path)
    assert signature() != after


def test_a_directory_removed_and_made_again_is_followed(signatures: FileSignatures, tmp_path: Path) -> None:
    path = tmp_path / "settings" / "config.json"
    path.parent.mkdir()
    path.write_bytes(b"{}")
    signature = signatures.watch(path)
    seen = [signature()]
    shutil.rmtree(path.parent)
    seen.append(signature())
    path.parent.mkdir()
    path.write_bytes(b"{}")
    seen.append(signature())
    _append(path)  # and its watch works again
    seen.append(signature())
    assert len(set(seen)) == len(seen), seen


def test_a_directory_moved_away_is_not_followed(signatures: FileSignatures, tmp_path: Path) -> None:
    path = tmp_path / "data" / "comfyvn.db"
    path.parent.mkdir()
    path.write_bytes(b"a")
    signature = signatures.watch(path)
    before = signature()
    path.parent.rename(tmp_path / "data.old")
    gone = signature()
    assert gone != before
    _append(tmp_path / "data.old" / "comfyvn.db")  # the moved file is not ours any more
    assert signature() == gone
    path.parent.mkdir()
    path.write_bytes(b"a")
    assert signature() not in (before, gone)


@needs_inotify
def test_lost_events_change_every_signature(tmp_path: Path) -> None:
    inotify = InotifySignatures()
    try:
        mine, noisy = tmp_path / "mine.json", [tmp_path / "noisy0", tmp_path / "noisy1"]
        mine.write_bytes(b"{}")
        for path in noisy:
            path.write_bytes(b"")
        signature = inotify.watch(mine)
        before = signature()
        limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
        # One event each (alternating, since equal consecutive events are merged), none about our file: the queue
        # overflows.
        for n in range(limit + 10):
            os.utime(noisy[n % 2], ns=(n, n))
        assert signature() != before
    finally:
        inotify.release()


@needs_inotify
def test_after_close_signatures_are_stats(tmp_path: Path) -> None:
    inotify = InotifySignatures()
    path = tmp_path / "f"
    path.write_bytes(b"1")
    signature = inotify.watch(path)
    assert signature() != (file_signature(path),)
    inotify.release()
    assert signature() == (file_signature(path),)
