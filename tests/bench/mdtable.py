"""Markdown tables for the benchmark's reports (results.md, the README)."""


def table(header, rows):
    """The lines of a Markdown table: the header cells, the separator, one line
    per row of cells (each cell is str()'d)."""
    def line(cells):
        return "|" + "|".join(f" {c} " if str(c) else " " for c in cells) + "|"
    return [line(header), "|" + "---|" * len(header)] + [line(r) for r in rows]
