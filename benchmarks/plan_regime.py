"""The compute plan of the training-regime extension (issue #23), printed before it runs.

One row per supernet of ``nas_core.regime.PLAN`` (in the order it is computed): its budget
relative to the profile's ground-truth epochs, whether it is stored, how many epochs its
checkpoint holds, and the core-hours still to go at the rates recorded by the stored supernets
of the same space (seconds per training epoch from their training curves, seconds per scored
architecture from the rest of their wall time; the regime's own results record both). Then
the totals per family (the ladder's rungs; the trained-budget pruning sweep and spaces around
a gold architecture, whose rates are those recorded by the stored supernets on pruned spaces of
the same kind) and space, and on ``--workers`` processes. Usage:

    python benchmarks/plan_regime.py [--profile cpu] [--workers 2]
"""
from __future__ import annotations

import argparse

import pandas as pd

from nas_core import regime


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    table = regime.plan_table(profile=args.profile)
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        print()
        family = table["item"].str.extract(r"^(pruning \w+|estimators)", expand=False).fillna("ladder")
        print(table.groupby([family.rename("family"), "space"], sort=False)["core_h_left"].sum().round(2).to_string())
    left = table["core_h_left"].sum()
    print(f"\n{int((~table['stored']).sum())} of {len(table)} items to go: {left:.1f} core-hours, "
          f"about {left / args.workers:.1f} h on {args.workers} workers (longest single run "
          f"{table['core_h_left'].max():.1f} h; `nas-study regime --hours H` computes in chunks)")


if __name__ == "__main__":
    main()
