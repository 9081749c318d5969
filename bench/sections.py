"""Sections of bench/RESULTS.md that their own command writes, between two HTML comments, and that a
regenerated report keeps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MarkedSection:
    """A part of a Markdown report between `<!-- {what}: written by {command} -->` and `<!-- end of {what} -->`."""

    what: str
    command: str

    @property
    def start(self) -> str:
        return f"<!-- {self.what}: written by {self.command} -->"

    @property
    def end(self) -> str:
        return f"<!-- end of {self.what} -->"

    def wrap(self, body: str) -> str:
        """The section with its markers, ready to be written."""
        return f"{self.start}\n{body.strip(chr(10))}\n{self.end}\n"

    def held_by(self, text: str) -> str | None:
        """The section as `text` holds it (markers included), or None."""
        if self.start not in text or self.end not in text:
            return None
        return self.start + text.partition(self.start)[2].partition(self.end)[0] + self.end + "\n"

    def without(self, text: str) -> str:
        """`text` with the section taken out."""
        if self.held_by(text) is None:
            return text
        before, _, rest = text.partition(self.start)
        return before + rest.partition(self.end)[2].lstrip("\n")

    def write(self, report: Path, body: str) -> None:
        """Replace the section where the report holds it, or append it."""
        text = report.read_text(encoding="utf-8") if report.is_file() else ""
        if self.held_by(text) is None:
            report.write_text(text.rstrip("\n") + "\n\n" + self.wrap(body), encoding="utf-8")
            return
        before, _, rest = text.partition(self.start)
        after = rest.partition(self.end)[2].lstrip("\n")
        report.write_text(before + self.wrap(body) + ("\n" + after if after else ""), encoding="utf-8")


def keep_sections(report: Path, regenerated: str, sections: tuple[MarkedSection, ...]) -> str:
    """The regenerated report followed by each of `sections` the old report held (they have their own commands)."""
    old = report.read_text(encoding="utf-8") if report.is_file() else ""
    kept = [held for held in (section.held_by(old) for section in sections) if held is not None]
    return "\n\n".join([regenerated.rstrip("\n"), *kept]) if kept else regenerated


def report_name(scale: float) -> str:
    """SF 1 is the reference report, RESULTS.md; another scale's report is RESULTS-sf<scale>.md."""
    return "RESULTS.md" if scale == 1 else f"RESULTS-sf{scale:g}.md"
