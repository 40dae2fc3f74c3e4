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

from computeadvisor.adapters._watch import FileSignatures, InotifySignatures, file_signature


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
    paths = (path, tmp_path / "data" / "other")
    before = signatures.signature(paths)
    assert signatures.signature(paths) == before
    change(path)
    after = signatures.signature(paths)
    assert after != before
    assert signatures.signature(paths) == after


def test_a_file_created_later_is_seen(signatures: FileSignatures, tmp_path: Path) -> None:
    paths = (tmp_path / "comfyvn.json",)
    before = signatures.signature(paths)
    paths[0].write_bytes(b"{}")
    assert signatures.signature(paths) != before


def test_changes_to_other_files_leave_the_signature_alone(signatures: FileSignatures, tmp_path: Path) -> None:
    mine, other = tmp_path / "mine.json", tmp_path / "other.json"
    mine.write_bytes(b"{}")
    other.write_bytes(b"{}")
    before = signatures.signature((mine,))
    signatures.signature((other,))  # asked about too, so its changes are counted
    _append(other)
    _replace(other)
    (tmp_path / ".mine.json.tmp").write_bytes(b"noise")
    assert signatures.signature((other,)) != before
    assert signatures.signature((mine,)) == before


@pytest.mark.parametrize("depth", [1, 2])
def test_files_in_directories_created_later_are_seen(signatures: FileSignatures, tmp_path: Path, depth: int) -> None:
    directory = tmp_path.joinpath(*["config"] * depth)
    path = directory / "compute_providers.json"
    before = signatures.signature((path,))
    assert signatures.signature((path,)) == before
    directory.mkdir(parents=True)
    middle = signatures.signature((path,))  # the directory exists, the file not yet
    path.write_bytes(b"{}")
    after = signatures.signature((path,))
    assert after != before and after != middle
    _append(path)
    assert signatures.signature((path,)) != after


def test_a_directory_removed_and_made_again_is_followed(signatures: FileSignatures, tmp_path: Path) -> None:
    path = tmp_path / "settings" / "config.json"
    path.parent.mkdir()
    path.write_bytes(b"{}")
    seen = [signatures.signature((path,))]
    shutil.rmtree(path.parent)
    seen.append(signatures.signature((path,)))
    path.parent.mkdir()
    path.write_bytes(b"{}")
    seen.append(signatures.signature((path,)))
    _append(path)  # and its watch works again
    seen.append(signatures.signature((path,)))
    assert len(set(seen)) == len(seen), seen


def test_a_directory_moved_away_is_not_followed(signatures: FileSignatures, tmp_path: Path) -> None:
    path = tmp_path / "data" / "comfyvn.db"
    path.parent.mkdir()
    path.write_bytes(b"a")
    before = signatures.signature((path,))
    path.parent.rename(tmp_path / "data.old")
    gone = signatures.signature((path,))
    assert gone != before
    _append(tmp_path / "data.old" / "comfyvn.db")  # the moved file is not ours any more
    path.parent.mkdir()
    path.write_bytes(b"a")
    assert signatures.signature((path,)) not in (before, gone)


def test_lost_events_change_every_signature(tmp_path: Path) -> None:
    watch = InotifySignatures()
    try:
        mine, noisy = tmp_path / "mine.json", [tmp_path / "noisy0", tmp_path / "noisy1"]
        mine.write_bytes(b"{}")
        for path in noisy:
            path.write_bytes(b"")
        before = watch.signature((mine,))
        limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
        # One event each (alternating, since equal consecutive events are merged), none about our file: the queue
        # overflows.
        for n in range(limit + 10):
            os.utime(noisy[n % 2], ns=(n, n))
        assert watch.signature((mine,)) != before
    finally:
        watch.close()


def test_after_close_signatures_are_stats(tmp_path: Path) -> None:
    watch = InotifySignatures()
    path = tmp_path / "f"
    path.write_bytes(b"1")
    assert watch.signature((path,)) != (file_signature(path),)
    watch.close()
    assert watch.signature((path,)) == (file_signature(path),)
