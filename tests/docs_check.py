#!/usr/bin/python3
"""Parse every Documentation/*.rst with docutils and fail on any warning.

A table whose columns do not line up, a title underline that is too short or
a broken inline markup is a docutils warning; the pages must render as they
read. Sphinx-only directives (index.rst's ``toctree``) are accepted as opaque
blocks, because the pages are also read without Sphinx.

Exit status: 0 clean, 1 at least one page has a problem (each printed as
file:line: message), 2 docutils is missing (make deps installs
python3-docutils).
"""

import pathlib
import sys

try:
    import docutils.core
    import docutils.utils
    from docutils.parsers.rst import Directive, directives
except ImportError:
    print("docs-check: docutils is missing: apt-get install python3-docutils (make deps)", file=sys.stderr)
    sys.exit(2)

TOP = pathlib.Path(__file__).resolve().parent.parent


class SphinxOnly(Directive):
    """A Sphinx directive: its content is kept as is, not checked."""

    has_content = True
    optional_arguments = 1
    final_argument_whitespace = True
    option_spec = {"maxdepth": directives.unchanged, "caption": directives.unchanged,
                   "hidden": directives.flag, "glob": directives.flag, "numbered": directives.flag}

    def run(self):
        return []


def check(path: pathlib.Path) -> list[str]:
    """Return 'file:line: message' for every docutils message of level WARNING or above."""
    problems: list[str] = []

    class Collect:
        def write(self, text: str) -> None:
            text = text.strip()
            if text:
                problems.append(text)

    docutils.core.publish_doctree(
        path.read_text(encoding="utf-8"),
        source_path=str(path.relative_to(TOP)),
        settings_overrides={
            "report_level": docutils.utils.Reporter.WARNING_LEVEL,
            "halt_level": docutils.utils.Reporter.SEVERE_LEVEL + 1,
            "warning_stream": Collect(),
            "file_insertion_enabled": False,
            "raw_enabled": False,
        },
    )
    return problems


def main() -> int:
    directives.register_directive("toctree", SphinxOnly)
    pages = sorted((TOP / "Documentation").glob("*.rst"))
    if not pages:
        print("docs-check: no Documentation/*.rst found", file=sys.stderr)
        return 1
    bad = 0
    for page in pages:
        problems = check(page)
        for p in problems:
            print(p)
        bad += bool(problems)
    print(f"docs-check: {len(pages)} pages, {bad} with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
