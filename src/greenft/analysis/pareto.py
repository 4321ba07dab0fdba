"""Pareto fronts and 2-D hypervolume for trade-offs such as emissions (lower is better) vs metric (higher).

Why hand-rolled: the sets are small (tens to a few thousand points), the rules must be explicit about ties and
NaN, and the module has to stay pure (no I/O, no plotting) so it is unit- and property-tested on its own.

Conventions, used everywhere in the analysis:

* each objective has a *sense*, ``"min"`` or ``"max"``;
* ``a`` *dominates* ``b`` when ``a`` is at least as good in every objective and strictly better in one;
* the front is the set of points no other point dominates. Identical points do not dominate each other, so
  ties are all kept (a duplicate of a front point is on the front too);
* a point with a NaN or infinite objective is never on the front and never dominates: a run whose metric
  diverged or whose emissions were not measured says nothing about the trade-off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, TypeAlias

__all__ = ["Sense", "dominates", "hypervolume_2d", "pareto_front", "pareto_mask"]

Sense: TypeAlias = Literal["min", "max"]


def _oriented(point: Sequence[float], senses: Sequence[Sense]) -> tuple[float, ...]:
    """The point with every objective turned into one to minimise."""
    if len(point) != len(senses):
        raise ValueError(f"point {tuple(point)} has {len(point)} objectives, senses {tuple(senses)} {len(senses)}")
    out = []
    for value, sense in zip(point, senses, strict=True):
        if sense not in ("min", "max"):
            raise ValueError(f"sense must be 'min' or 'max', got {sense!r}")
        out.append(float(value) if sense == "min" else -float(value))
    return tuple(out)


def _finite(point: Sequence[float]) -> bool:
    return all(math.isfinite(v) for v in point)


def dominates(a: Sequence[float], b: Sequence[float], senses: Sequence[Sense]) -> bool:
    """Whether ``a`` is at least as good as ``b`` everywhere and strictly better somewhere (NaN: never)."""
    oa, ob = _oriented(a, senses), _oriented(b, senses)
    if not (_finite(oa) and _finite(ob)):
        return False
    return all(x <= y for x, y in zip(oa, ob, strict=True)) and any(x < y for x, y in zip(oa, ob, strict=True))


def pareto_mask(points: Sequence[Sequence[float]], senses: Sequence[Sense] = ("min", "max")) -> list[bool]:
    """``True`` for every point on the front (see the module docstring for ties and NaN)."""
    oriented = [_oriented(p, senses) for p in points]
    finite = [_finite(p) for p in oriented]
    # Sorting lexicographically puts every dominator of a point before it, so one pass against the front so far
    # suffices: O(n * front) instead of O(n^2) for large, mostly dominated sets.
    order = sorted((i for i in range(len(points)) if finite[i]), key=lambda i: oriented[i])
    mask = [False] * len(points)
    front: list[tuple[float, ...]] = []
    for i in order:
        p = oriented[i]
        dominated = any(
            all(x <= y for x, y in zip(q, p, strict=True)) and any(x < y for x, y in zip(q, p, strict=True))
            for q in front
        )
        if not dominated:
            mask[i] = True
            front.append(p)
    return mask


def pareto_front(points: Sequence[Sequence[float]], senses: Sequence[Sense] = ("min", "max")) -> list[int]:
    """Indices of the non-dominated points, in input order."""
    return [i for i, on in enumerate(pareto_mask(points, senses)) if on]


def hypervolume_2d(
    points: Sequence[Sequence[float]],
    reference: Sequence[float],
    senses: Sequence[Sense] = ("min", "max"),
) -> float:
    """Area dominated by ``points`` and bounded by ``reference`` (2 objectives).

    The reference is the worst acceptable corner (e.g. the full budget's emissions and the worst metric). Points
    that are not strictly better than the reference in both objectives, and non-finite points, add nothing.
    A larger hypervolume means a front that gets closer to the ideal on both axes at once, which is how two
    rule families (AN-GES vs patience) can be compared by one number.
    """
    if len(reference) != 2 or len(senses) != 2:
        raise ValueError("hypervolume_2d takes exactly two objectives")
    ref = _oriented(reference, senses)
    if not _finite(ref):
        raise ValueError(f"reference point must be finite, got {tuple(reference)}")
    usable = [p for p in (_oriented(q, senses) for q in points) if _finite(p) and p[0] < ref[0] and p[1] < ref[1]]
    if not usable:
        return 0.0
    usable.sort()
    area, best_y = 0.0, ref[1]
    for index, (x, y) in enumerate(usable):
        next_x = usable[index + 1][0] if index + 1 < len(usable) else ref[0]
        best_y = min(best_y, y)
        area += (next_x - x) * (ref[1] - best_y)
    return area
