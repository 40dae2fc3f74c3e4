"""The project stands on its own: every ``§`` reference in the code and docs names a section of docs/api.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "api.md"
SECTION_REF = re.compile(r"§\s?(\d+(?:\.\d+)?)")


def sections() -> set[str]:
    """The numbers of the reference's ``## N.`` and ``### N.M`` headings."""
    headings = re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", REFERENCE.read_text(encoding="utf-8"), flags=re.M)
    return set(headings)


def references() -> dict[str, set[str]]:
    """Every section number cited, with the files citing it."""
    cited: dict[str, set[str]] = {}
    files = [*ROOT.glob("src/**/*.py"), *ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/*.py"), *ROOT.glob("docs/*.md")]
    for path in [*files, ROOT / "README.md"]:
        for number in SECTION_REF.findall(path.read_text(encoding="utf-8")):
            cited.setdefault(number, set()).add(str(path.relative_to(ROOT)))
    return cited


def test_the_reference_has_every_section_the_code_cites() -> None:
    known = sections()
    assert {"0.1", "3.4", "5.7", "9"} <= known  # the headings are found at all
    cited = references()
    assert len(cited) > 50, "the scan found too few references to be looking at the code"
    missing = {number: sorted(files) for number, files in cited.items() if number not in known}
    assert missing == {}, f"sections cited but not in docs/api.md: {missing}"
