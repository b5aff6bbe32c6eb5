"""Write or replace one `## <heading>` section of docs/BENCHMARKS.md, shared by every bench/ script.

Scripts put the repository root on sys.path and import it with `from bench.benchmarks_doc import write_section`
(`bench` is a namespace package), which works both for `.venv/bin/python bench/<name>.py` and for runpy.
"""

from __future__ import annotations

from pathlib import Path

from calibration.atomic import atomic_write_text

BENCHMARKS = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"


def _span(lines: list[str], heading: str | None) -> tuple[int, int] | None:
    """Line range [start, end) of the section whose first line equals `heading`, up to the next "## " line."""
    if heading is None:
        return None
    start = next((i for i, line in enumerate(lines) if line.rstrip("\r\n") == heading), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return start, end


def write_section(heading: str, text: str, after: str | None = None, path: Path = BENCHMARKS) -> None:
    """Replace the section headed `heading` by `text`, leaving the rest of the file byte-identical.

    `text` is the whole section, its first line being `heading`; trailing newlines are normalised to one, and
    the blank lines that separated the old section from the next one are kept. A section not in the file yet goes
    right after the section headed `after` (when given and present, followed by one blank line), else at the end.
    A missing file starts as "# Benchmarks". Written atomically.
    """
    if text.split("\n", 1)[0] != heading:
        raise ValueError(f"write_section: text must start with the heading line {heading!r}, got {text[:60]!r}")
    section = text.rstrip("\n") + "\n"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = old.splitlines(keepends=True)
    own, anchor = _span(lines, heading), _span(lines, after)
    if own is not None:
        start, end = own
        body = "".join(lines[start:end])
        separator = body[len(body.rstrip("\n")) + 1 :]
        new = "".join(lines[:start]) + section + separator + "".join(lines[end:])
    elif anchor is not None and anchor[1] < len(lines):
        new = "".join(lines[: anchor[1]]) + section + "\n" + "".join(lines[anchor[1] :])
    else:
        new = old.rstrip("\n") + "\n\n" + section
    atomic_write_text(path, new)
