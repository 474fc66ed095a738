"""The gold architecture of a space, with its name in the book: Figure 6 prunes around it
(6b, 6c) and Figure 1 draws its stand-alone accuracy as ProxylessNAS's reference line.
A fact of the space, kept beside the spaces so that the study and pruning both read it
from below."""
from __future__ import annotations

from .darts_cnn import DARTS_V2
from .proxyless import PROXYLESS_GPU

GOLD = {"darts_cnn": ("DARTS (second order)", DARTS_V2), "proxyless": ("ProxylessNAS-GPU", PROXYLESS_GPU)}
AROUND_SPACES = tuple(GOLD)
GOLD_NAMES = {space: name for space, (name, _) in GOLD.items()}


def gold_architecture(space_name: str):
    """The architecture Figure 6 prunes around: DARTS (second order) or ProxylessNAS-GPU."""
    if space_name not in GOLD:
        raise ValueError(f"no gold architecture to prune around in {space_name!r}; spaces: {', '.join(GOLD)}")
    return GOLD[space_name][1]


__all__ = ["GOLD", "AROUND_SPACES", "GOLD_NAMES", "gold_architecture"]
