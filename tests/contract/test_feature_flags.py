"""FileFeatureFlags on real files (§0.6), with each way of noticing changes: every edit counts on the next call."""

from __future__ import annotations

from pathlib import Path

from computeadvisor.adapters.file_flags import FileFeatureFlags
from computeadvisor.adapters.file_signatures import FileSignatures


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_each_edit_is_read_on_the_next_call(signatures: FileSignatures, tmp_path: Path) -> None:
    flags = FileFeatureFlags(tmp_path, signatures=signatures)
    root_doc, config_doc = tmp_path / "comfyvn.json", tmp_path / "config" / "comfyvn.json"
    assert flags.enabled() is False  # neither file, nor config/, exists yet
    _write(root_doc, '{"features": {"enable_compute": true}}')
    assert flags.enabled() is True
    _write(config_doc, '{"features": {"enable_compute": false}}')  # the later file wins
    assert flags.enabled() is False
    _write(config_doc, '{"features": {"enable_compute": "true"}}')  # only real booleans count
    assert flags.enabled() is True
    _write(root_doc, "{not json")
    assert flags.enabled() is False
    tmp = root_doc.with_name(".comfyvn.json.tmp")  # an editor's atomic save
    tmp.write_text('{"features": {"enable_compute": true}}', encoding="utf-8")
    tmp.replace(root_doc)
    assert flags.enabled() is True
    with root_doc.open("r+", encoding="utf-8") as f:  # an edit in place (same inode)
        text = f.read()
        f.seek(0)
        f.write(text.replace("true", "false"))
    assert flags.enabled() is False
    root_doc.unlink()
    assert flags.enabled() is False
    assert [name for name, _ in flags.seed_documents()] == ["config/comfyvn.json"]
