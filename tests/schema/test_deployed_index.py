"""The deployed epoch: best validation so far (never a later epoch), or the last one on request."""

from __future__ import annotations

import math

import pytest

from greenft.schema import Deploy, deployed_index
from greenft.stopping import MetricDirection

AUC = [0.70, 0.80, 0.75, 0.82, 0.79]


@pytest.mark.parametrize(
    ("end", "expected"),
    [(0, 0), (1, 1), (2, 1), (3, 3), (4, 3)],
)
def test_best_so_far_looks_only_up_to_the_end(end: int, expected: int) -> None:
    assert deployed_index(AUC, MetricDirection.MAXIMIZE, end) == expected


def test_minimised_metric_and_ties_take_the_earliest() -> None:
    rmse = [1.0, 0.8, 0.8, 0.9]
    assert deployed_index(rmse, MetricDirection.MINIMIZE, 3) == 1


def test_last_deploys_the_end_epoch() -> None:
    assert deployed_index(AUC, MetricDirection.MAXIMIZE, 2, Deploy.LAST) == 2
    assert deployed_index(AUC, MetricDirection.MAXIMIZE, 2, "last") == 2


def test_no_finite_value_falls_back_to_the_end() -> None:
    assert deployed_index([math.nan, math.nan], MetricDirection.MAXIMIZE, 1) == 1


def test_end_outside_the_curve_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        deployed_index(AUC, MetricDirection.MAXIMIZE, 5)
