"""BENCHMARKS.md is written by several scripts, each owning one ``## `` section:
:func:`replace_section` puts a script's section in place of its previous one."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, heading: str, section: str) -> None:
    """Write ``section`` (starting with ``heading``, a ``## `` line) into the Markdown file at
    ``path``: in place of the section under the same heading, up to the next ``## `` heading,
    or at the end when there is none."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    section = section.rstrip("\n") + "\n"
    if heading in text:
        start = text.index(heading)
        following = text.find("\n## ", start + len(heading))
        rest = text[following + 1:] if following >= 0 else ""
        text = text[:start] + section + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def publish(lines: list[str], heading: str, output: Path | None) -> str:
    """A section's lines -> its text, printed, and written into ``output`` when given."""
    section = "\n".join(lines) + "\n"
    print(section)
    if output is not None:
        replace_section(output, heading, section)
    return section

