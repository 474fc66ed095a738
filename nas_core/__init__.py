"""nas_core: a small library for studying weight-sharing neural architecture search.

Reproduces "How Does Supernet Help in Neural Architecture Search?" (Zhang et al.).
Layers: spaces (search spaces) -> training/evaluation (supernets, stand-alone nets)
-> groundtruth, metrics, analysis -> store (results with provenance).
"""

__version__ = "0.1.0"
