"""Compare the findings of two builds of the book (for example one with 1 and one with 2 threads per notebook):

    python benchmarks/compare_builds.py runs/book-1thread runs/book-2threads

prints every finding of both builds side by side (estimate and 95% interval in points, verdict) and whether they
agree as a rebuild must, and whether they are consistent at the 95% level (``reproduce.findings.compare_builds``);
exits with 1 when one does not agree.
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from reproduce import book, findings


def build_findings(run: str) -> list[findings.Finding]:
    """Every finding a build's notebooks glued (``RUN/results/<notebook>.json``, value ``findings``)."""
    found = []
    for record in book.read_results(f"{run}/results").values():
        text = record.get("values", {}).get("findings")
        if text:
            found += [findings.from_dict(values) for values in json.loads(text)]
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", help="the first build's run folder")
    parser.add_argument("b", help="the second build's run folder")
    args = parser.parse_args(argv)
    rows = pd.DataFrame(findings.compare_builds(build_findings(args.a), build_findings(args.b)))
    with pd.option_context("display.max_colwidth", 60, "display.width", 250):
        print(rows.drop(columns=["claim"]).to_markdown(index=False))
    print(f"\n{rows['agree'].sum()} of {len(rows)} findings agree (each estimate inside the other build's interval, "
          f"no verdict opposed); {rows['consistent'].sum()} of {len(rows)} consistent (the estimates differ by less "
          f"than their difference's 95% interval)")
    return 0 if rows["agree"].all() else 1


if __name__ == "__main__":
    sys.exit(main())
