"""The gold architectures, with their names in the book: Figure 6 prunes around them (6b, 6c)
and Figure 1 draws ProxylessNAS-GPU's stand-alone accuracy as its reference line. Each is a
fact of its space (``get_space(name).gold``, ``.gold_name``, and the space's ``around`` that
prunes around it); these are views of them, in registry order, for the study and pruning."""
from __future__ import annotations

from . import SPACE_NAMES, FactTable, get_space

AROUND_SPACES = tuple(n for n in SPACE_NAMES if get_space(n).gold is not None)
GOLD = {n: (get_space(n).gold_name, get_space(n).gold) for n in AROUND_SPACES}
GOLD_NAMES = FactTable("gold_name")


def gold_architecture(space_name: str):
    """The architecture Figure 6 prunes around: DARTS (second order) or ProxylessNAS-GPU."""
    if space_name not in GOLD:
        raise ValueError(f"no gold architecture to prune around in {space_name!r}; spaces: {', '.join(GOLD)}")
    return GOLD[space_name][1]


__all__ = ["GOLD", "AROUND_SPACES", "GOLD_NAMES", "gold_architecture"]
