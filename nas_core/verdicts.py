"""A verdict: one claim of the paper checked on our numbers, in one word and in words.

Every verdict function of the chapters (``analysis``, ``bias``, ``tricks``, ``pruning``)
returns a ``Verdict``: its markdown text (a ``str``, so it displays and reads as before)
carrying its **call** (one of ``CALLS``), the paper's item and space it judges, its key
number with interval, and the numbers behind it. A chapter displays it with
``display(verdict)``: the page shows the text, and the executed notebook keeps the record
(mime type ``MIME``) from which ``bookgen`` builds the "Results at a glance" page. So the
grid cannot say anything the chapters do not.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping

AGREES, PARTLY, DISAGREES, INCONCLUSIVE, NOT_RUN = "agrees", "partly", "disagrees", "inconclusive", "not run"
CALLS = (AGREES, PARTLY, DISAGREES, INCONCLUSIVE, NOT_RUN)
MIME = "application/vnd.nas-core.verdict+json"


class Verdict(str):
    """The markdown text of a verdict, with its ``call`` and what it is about.

    ``numbers`` maps a quantity (e.g. ``"spearman"``) to ``(value, ci_low, ci_high)``; the
    cross-space table of the results page reads them.
    """

    def __new__(cls, text: str, call: str, *, item: str = "", space: str = "", key: str = "",
                numbers: Mapping[str, tuple] | None = None):
        if call not in CALLS:
            raise ValueError(f"call must be one of {CALLS}, got {call!r}")
        self = super().__new__(cls, text)
        self.call, self.item, self.space, self.key = call, item, space, key
        self.numbers = {k: tuple(_plain(x) for x in v) for k, v in dict(numbers or {}).items()}
        return self

    def about(self, item: str | None = None, space: str | None = None) -> "Verdict":
        """The same verdict, placed on the paper's ``item`` ("Figure 1") and ``space`` ("nb101")."""
        return Verdict(str(self), self.call, item=self.item if item is None else item,
                       space=self.space if space is None else space, key=self.key, numbers=self.numbers)

    def record(self) -> dict:
        return {"call": self.call, "item": self.item, "space": self.space, "key": self.key,
                "numbers": {k: list(v) for k, v in self.numbers.items()}, "text": str(self)}

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/markdown": str(self), MIME: self.record()}


def _plain(x):
    """A JSON-safe float (NaN -> None)."""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def combine(calls: Iterable[str]) -> str:
    """One call from several (the checks of one item on one space): all alike -> that call;
    some agreeing among others -> ``partly``; disagreement without agreement -> ``disagrees``;
    nothing -> ``not run``."""
    calls = [c for c in calls if c != NOT_RUN]
    if not calls:
        return NOT_RUN
    kinds = set(calls)
    if len(kinds) == 1:
        return calls[0]
    if AGREES in kinds or PARTLY in kinds:
        return PARTLY
    if DISAGREES in kinds:
        return DISAGREES
    return INCONCLUSIVE


def across_seeds(calls: Iterable[str]) -> str:
    """One call from the same check on several supernet seeds: a call holds when every seed gives
    it (as Figure 1's trend needs every seed pair); seeds that differ -> ``inconclusive`` (the seed,
    not the budget or the method, decides the outcome); nothing -> ``not run``."""
    calls = [c for c in calls if c != NOT_RUN]
    if not calls:
        return NOT_RUN
    return calls[0] if len(set(calls)) == 1 else INCONCLUSIVE


def interval_call(low: float, high: float, want_sign: int) -> str:
    """``agrees`` when the interval [low, high] lies on the side ``want_sign`` of 0,
    ``disagrees`` when it lies on the other side, ``inconclusive`` when it holds 0 (or is NaN)."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return INCONCLUSIVE
    if low > 0:
        return AGREES if want_sign > 0 else DISAGREES
    if high < 0:
        return AGREES if want_sign < 0 else DISAGREES
    return INCONCLUSIVE


def fmt_ci(value: float, low: float, high: float, digits: int = 2, signed: bool = False) -> str:
    s = "+" if signed else ""
    return f"{value:{s}.{digits}f} [{low:{s}.{digits}f}, {high:{s}.{digits}f}]"


def from_checks(checks, *, item: str, space: str, title: str = "") -> Verdict:
    """One verdict from a table of checks of one item on one space (columns ``claim``, ``ours``,
    ``verdict``, as ``pruning.verdict_table``): the calls ``combine``d, every check listed."""
    rows = list(checks[["claim", "ours", "verdict"]].itertuples(index=False))
    call = combine(r.verdict for r in rows)
    lines = "; ".join(f"*{r.claim}*: {r.ours} ({r.verdict})" for r in rows)
    counts = {c: sum(r.verdict == c for r in rows) for c in CALLS}
    key = ", ".join(f"{n} {c}" for c, n in counts.items() if n) or "no check"
    head = f"**{title}**, {item}: " if title else f"**{item}**: "
    return Verdict(f"{head}{lines or 'no check could be made'}: **{call}**.", call, item=item, space=space, key=key)
