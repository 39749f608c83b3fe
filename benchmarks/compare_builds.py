"""Compare the findings of two builds of the book (for example one with 1 and one with 2 threads per notebook):

    python benchmarks/compare_builds.py runs/book-1thread runs/book-2threads

prints every finding of both builds side by side (estimate and 95% interval in points, verdict), the difference of
the two estimates with its standard error from what a rebuild draws anew (seeds or members, not the test images),
its p-value and Holm's, and whether the builds agree (``reproduce.analysis.findings.compare_builds``: no verdict opposed, no
finding in one build only, and "the same expected value" not rejected at a family-wise 5%); exits with 1 when they
do not.
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from reproduce.book import runner
from reproduce.analysis import findings


def build_findings(run: str) -> list[findings.Finding]:
    """Every finding a build's notebooks glued (``RUN/results/<notebook>.json``, value ``findings``)."""
    found = []
    for record in runner.read_results(f"{run}/results").values():
        text = record.get("values", {}).get("findings")
        if text:
            found += [findings.from_dict(values) for values in json.loads(text)]
    return found


def verdict(comparison: findings.BuildComparison) -> str:
    """The comparison in one sentence: how many findings are opposed, unmatched, tested and consistent."""
    rows = pd.DataFrame(comparison.rows)
    matched = (rows["a"] != "") & (rows["b"] != "")
    tested = rows["consistent"].notna()
    return (f"{len(rows)} findings: {int(rows['opposed'].sum())} with opposed verdicts, {int((~matched).sum())} in one "
            f"build only, {int(tested.sum())} tested (Holm, family-wise 5%) of which "
            f"{int(rows.loc[tested, 'consistent'].astype(bool).sum())} consistent, {int((matched & ~tested).sum())} "
            f"without a spread to test: the builds {'agree' if comparison.agree else 'do not agree'}.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", help="the first build's run folder")
    parser.add_argument("b", help="the second build's run folder")
    args = parser.parse_args(argv)
    comparison = findings.compare_builds(build_findings(args.a), build_findings(args.b))
    if not comparison.rows:
        print("neither build glued any findings: nothing to compare")
        return 1
    rows = pd.DataFrame(comparison.rows).drop(columns=["claim"])
    numbers = ["a - b (points)", "standard error (points)", "p", "Holm p"]
    rows[numbers] = rows[numbers].map(lambda x: "" if pd.isna(x) else f"{x:.3f}")
    rows["consistent"] = rows["consistent"].map(lambda x: "untested" if x is None else x)
    print(rows.to_markdown(index=False, disable_numparse=True))
    print("\n" + verdict(comparison))
    return 0 if comparison.agree else 1


if __name__ == "__main__":
    sys.exit(main())
