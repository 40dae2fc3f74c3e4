"""Read the executable examples out of the docs and compare answers with the wildcard rule (see test_docs.py)."""

from __future__ import annotations

import difflib
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[2] / "docs"
WILDCARD = "…"
_FENCE = re.compile(r"^```(\w*)\s*$")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    lang: str
    text: str
    line: int
    heading: str
    follows_previous: bool
    """Only blank lines separate this block from the previous one."""


@dataclass(frozen=True)
class Example:
    """A ``bash`` block that calls the server, and the JSON it must answer."""

    heading: str
    line: int
    command: str
    expected: Any


def blocks(markdown: str) -> list[Block]:
    """Every fenced block in document order, with the heading it sits under."""
    found: list[Block] = []
    heading = "(top)"
    lang: str | None = None
    body: list[str] = []
    start = 0
    only_blank_since_block = False
    follows = False
    for number, line in enumerate(markdown.splitlines(), start=1):
        fence = _FENCE.match(line)
        if lang is None:
            if fence:
                lang, body, start, follows = fence.group(1), [], number, only_blank_since_block
                continue
            if line.strip():
                only_blank_since_block = False
            if match := _HEADING.match(line):
                heading = match.group(1).strip()
        elif line.strip() == "```":
            found.append(Block(lang, "\n".join(body) + "\n", start, heading, follows))
            lang = None
            only_blank_since_block = True
        else:
            body.append(line)
    if lang is not None:
        raise AssertionError(f"unclosed ``` block opened at line {start}")
    return found


def examples(path: Path) -> list[Example]:
    """The executable examples of one document; a malformed example fails with its line number."""
    found: list[Example] = []
    all_blocks = blocks(path.read_text(encoding="utf-8"))
    for index, block in enumerate(all_blocks):
        if block.lang != "bash" or "$BASE" not in block.text:
            continue
        where = f"{path.name}:{block.line} ({block.heading})"
        assert len(re.findall(r"(?m)(?:^|[|;&]\s*)curl\s", block.text)) == 1, f"{where}: needs exactly one curl"
        following = all_blocks[index + 1] if index + 1 < len(all_blocks) else None
        assert following is not None and following.lang == "json" and following.follows_previous, (
            f"{where}: a bash block using $BASE must be followed directly by a ```json block with its answer"
        )
        try:
            expected = json.loads(following.text)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{path.name}:{following.line}: expected answer is not JSON: {exc}") from None
        found.append(Example(block.heading, block.line, block.text, expected))
    return found


def cli_commands(path: Path) -> list[tuple[int, list[str]]]:
    """``computeadvisor ...`` command lines inside ``bash`` blocks, as argument lists (without the program)."""
    commands: list[tuple[int, list[str]]] = []
    for block in blocks(path.read_text(encoding="utf-8")):
        if block.lang != "bash":
            continue
        joined = block.text.replace("\\\n", " ")
        for offset, line in enumerate(joined.splitlines()):
            if "computeadvisor" not in line or line.lstrip().startswith(("curl", "#")):
                continue
            words = shlex.split(line, comments=True)
            while words and re.fullmatch(r"\w+=\S*", words[0]):  # leading VAR=value assignments
                words = words[1:]
            if not words or not words[0].endswith("computeadvisor"):
                continue
            args = words[1:]
            for stop, word in enumerate(args):
                if word in ("|", "||", "&&", ";", ">", ">>", "2>&1"):
                    args = args[:stop]
                    break
            commands.append((block.line + 1 + offset, args))
    return commands


def mismatches(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Where ``actual`` departs from ``expected`` under the wildcard rule; empty when it matches."""
    if expected == WILDCARD:
        return []
    if isinstance(expected, str) and WILDCARD in expected:
        pattern = ".*".join(re.escape(part) for part in expected.split(WILDCARD))
        if isinstance(actual, str) and re.fullmatch(pattern, actual, flags=re.S):
            return []
        return [f"{path}: expected a string like {expected!r}, got {actual!r}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        problems: list[str] = []
        open_ended = expected.get(WILDCARD) == WILDCARD
        for key, value in expected.items():
            if key == WILDCARD and open_ended:
                continue
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems.extend(mismatches(value, actual[key], f"{path}.{key}"))
        if not open_ended:
            problems.extend(f"{path}.{key}: not in the docs" for key in actual if key not in expected)
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        open_ended = bool(expected) and expected[-1] == WILDCARD
        fixed = expected[:-1] if open_ended else expected
        if len(actual) < len(fixed) or (not open_ended and len(actual) != len(fixed)):
            return [f"{path}: expected {len(fixed)}{'+' if open_ended else ''} items, got {len(actual)}"]
        problems = []
        for index, item in enumerate(fixed):
            problems.extend(mismatches(item, actual[index], f"{path}[{index}]"))
        return problems
    # JSON scalars: the type counts too (1 is not 1.0 is not true), since clients see the difference.
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def pretty(value: Any) -> list[str]:
    """A value as indented JSON lines, for diffs."""
    return json.dumps(value, indent=2, ensure_ascii=False).splitlines()


def report(example: Example, actual: Any, problems: list[str], doc: str) -> str:
    """A failure message: where the example is, its command, what differs, and a diff of the two bodies."""
    diff = difflib.unified_diff(pretty(example.expected), pretty(actual), "docs", "server", lineterm="")
    return "\n".join(
        [
            f"{doc}:{example.line} under '{example.heading}' does not match the server's answer.",
            "command:",
            example.command.rstrip(),
            "differences:",
            *(f"  {problem}" for problem in problems[:20]),
            "diff (docs -> server):",
            *diff,
        ]
    )
