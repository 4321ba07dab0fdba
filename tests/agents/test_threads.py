"""The torch thread default (greenft.agents.threads): the cores actually free, unless the user said otherwise;
and OpenMP's passive waiting unless the user chose a policy. Why these defaults: docs/architecture.md."""

from __future__ import annotations

import os

import pytest

from greenft.agents.threads import choose_threads, free_cores, prefer_passive_waiting, usable_cores


@pytest.mark.parametrize(
    ("usable", "load", "expected"),
    [
        (2, None, 2),  # no load figure: every usable core
        (2, 0.0, 2),
        (2, 0.49, 2),  # a job using a core less than half the time leaves it free
        (2, 0.5, 1),  # ... half the time or more takes it
        (2, 1.2, 1),
        (2, 6.0, 1),  # never fewer than one thread
        (16, 3.4, 13),
        (1, 0.0, 1),
    ],
)
def test_free_cores_are_the_usable_ones_less_the_load(usable: int, load: float | None, expected: int) -> None:
    assert free_cores(usable, load) == expected


def test_usable_cores_are_this_process_affinity() -> None:
    assert usable_cores() == len(os.sched_getaffinity(0))


def test_a_given_count_wins_then_omp_num_threads_then_the_free_cores() -> None:
    given = choose_threads(3, env={"OMP_NUM_THREADS": "2"})
    assert (given.threads, given.chosen_by) == (3, "threads")
    omp = choose_threads(None, env={"OMP_NUM_THREADS": "2"})
    assert (omp.threads, omp.chosen_by) == (2, "OMP_NUM_THREADS")
    for unusable in ({}, {"OMP_NUM_THREADS": "0"}, {"OMP_NUM_THREADS": "many"}):
        free = choose_threads(None, env=unusable)
        assert free.chosen_by == "free cores"
        assert free.threads == free_cores(free.usable_cores, free.load_1min)
        assert 1 <= free.threads <= usable_cores()


def test_the_choice_is_described_for_the_run_config() -> None:
    described = choose_threads(2, env={}).describe(env={"OMP_WAIT_POLICY": "PASSIVE"})
    assert described["threads"] == 2 and described["chosen_by"] == "threads"
    assert described["usable_cores"] == usable_cores() and described["omp_wait_policy"] == "PASSIVE"


def test_passive_waiting_unless_the_user_chose_a_policy() -> None:
    unset: dict[str, str] = {}
    assert prefer_passive_waiting(unset) == "PASSIVE" and unset == {"OMP_WAIT_POLICY": "PASSIVE"}
    chosen = {"OMP_WAIT_POLICY": "ACTIVE"}
    assert prefer_passive_waiting(chosen) == "ACTIVE" and chosen == {"OMP_WAIT_POLICY": "ACTIVE"}
