"""Pareto fronts and hypervolume on hand-made points (ties, NaN) and as properties over random point sets."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenft.analysis.pareto import dominates, hypervolume_2d, pareto_front, pareto_mask

NAN = math.nan


def test_min_max_front() -> None:
    # (emissions kg, metric): less CO2 and more metric are better.
    points = [(1.0, 0.70), (2.0, 0.80), (3.0, 0.80), (2.5, 0.75), (4.0, 0.90), (0.5, 0.60)]
    assert pareto_front(points, ("min", "max")) == [0, 1, 4, 5]


def test_ties_are_all_kept_and_do_not_dominate() -> None:
    points = [(1.0, 0.7), (1.0, 0.7), (2.0, 0.7)]
    assert not dominates(points[0], points[1], ("min", "max"))
    assert pareto_front(points, ("min", "max")) == [0, 1]  # (2.0, 0.7) is worse on emissions only: dominated
    # A tie on one objective and better on the other dominates.
    assert dominates((1.0, 0.7), (2.0, 0.7), ("min", "max"))


def test_nan_points_are_never_on_the_front_and_never_dominate() -> None:
    points = [(NAN, 0.99), (1.0, NAN), (2.0, 0.5), (math.inf, 1.0)]
    assert pareto_mask(points, ("min", "max")) == [False, False, True, False]
    assert not dominates((NAN, 0.0), (5.0, 0.0), ("min", "max"))
    assert not dominates((1.0, 1.0), (NAN, 0.0), ("min", "max"))
    assert pareto_front([(NAN, NAN)]) == []
    assert pareto_front([]) == []


def test_max_max_senses() -> None:
    points = [(0.0, 0.0), (40.0, -5.0), (60.0, -10.0), (30.0, -6.0), (60.0, -12.0)]
    assert pareto_front(points, ("max", "max")) == [0, 1, 2]


def test_bad_senses_and_lengths() -> None:
    with pytest.raises(ValueError, match="sense"):
        pareto_front([(1.0, 2.0)], ("min", "up"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="objectives"):
        pareto_front([(1.0, 2.0, 3.0)], ("min", "max"))


def test_hypervolume_by_hand() -> None:
    # Minimise both; reference (4, 4). Points (1, 3), (2, 2), (3, 1): staircase area 1*1 + 1*2 + 1*3 = 6.
    assert hypervolume_2d([(1, 3), (2, 2), (3, 1)], (4, 4), ("min", "min")) == pytest.approx(6.0)
    # Dominated points and duplicates add nothing.
    assert hypervolume_2d([(1, 3), (2, 2), (3, 1), (3, 3), (2, 2)], (4, 4), ("min", "min")) == pytest.approx(6.0)
    # Points not better than the reference, and NaN, add nothing.
    assert hypervolume_2d([(5, 1), (1, 5), (NAN, 0)], (4, 4), ("min", "min")) == 0.0
    # max/max (emissions saved %, metric change %), reference (0, -10): one point (50, 0) -> 50 * 10.
    assert hypervolume_2d([(50.0, 0.0)], (0.0, -10.0), ("max", "max")) == pytest.approx(500.0)
    with pytest.raises(ValueError, match="finite"):
        hypervolume_2d([(1, 1)], (NAN, 1), ("min", "min"))


finite = st.floats(min_value=-100, max_value=100, allow_nan=False)
maybe_nan = st.one_of(finite, finite, finite, st.just(NAN))
points_strategy = st.lists(st.tuples(maybe_nan, maybe_nan), max_size=40)
senses_strategy = st.tuples(st.sampled_from(["min", "max"]), st.sampled_from(["min", "max"]))


@settings(max_examples=200, deadline=None)
@given(points_strategy, senses_strategy)
def test_front_properties(points: list[tuple[float, float]], senses: tuple[str, str]) -> None:
    """No front member is dominated; every finite non-member is dominated by a member; NaN points are out."""
    mask = pareto_mask(points, senses)  # type: ignore[arg-type]
    members = [p for p, on in zip(points, mask, strict=True) if on]
    for p, on in zip(points, mask, strict=True):
        if not all(math.isfinite(v) for v in p):
            assert not on
        elif on:
            assert not any(dominates(q, p, senses) for q in points)  # type: ignore[arg-type]
        else:
            assert any(dominates(q, p, senses) for q in members)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(points_strategy)
def test_hypervolume_monotone_and_front_only(points: list[tuple[float, float]]) -> None:
    reference = (101.0, 101.0)
    hv = hypervolume_2d(points, reference, ("min", "min"))
    front = [points[i] for i in pareto_front(points, ("min", "min"))]
    assert hv >= 0.0
    assert hv == pytest.approx(hypervolume_2d(front, reference, ("min", "min")))
    assert hypervolume_2d([*points, (0.0, 0.0)], reference, ("min", "min")) >= hv - 1e-9
