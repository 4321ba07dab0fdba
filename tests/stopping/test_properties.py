"""Property-based checks of the stopping rules against small independent reference implementations.

The references below are written from the written specification of AN-GES (Algorithm 1 plus the documented
edge-case decisions) and of patience early stopping, not from the modules under test.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from greenft.stopping import (
    AnGes,
    EpochObservation,
    FullBudget,
    MetricDirection,
    NonFiniteMetricPolicy,
    Patience,
    Phase,
    StoppingRule,
    effective_threshold_fraction,
)

SETTINGS = settings(max_examples=200, deadline=None)

MAX = MetricDirection.MAXIMIZE
MIN = MetricDirection.MINIMIZE


# ------------------------------------------------------------------------------------------ reference AN-GES


@dataclass
class RefEpoch:
    kind: str  # first | warmup | active | undefined | non_finite
    stop: bool
    aer: float | None
    ema: float | None


def reference_anges(
    metrics: list[float],
    emissions: list[float],
    maximise: bool,
    alpha: float,
    beta: float,
    w: int,
    eps: float,
    skip_non_finite: bool,
) -> list[RefEpoch]:
    """A direct transcription of the AN-GES specification; returns one entry per epoch up to the stop."""
    out: list[RefEpoch] = []
    last_m: float | None = None  # comparison reference: the last finite-metric epoch
    last_e: float | None = None
    collected: list[float] = []
    ema: float | None = None
    for i, (m, e) in enumerate(zip(metrics, emissions, strict=True), start=1):
        if math.isnan(m) or math.isinf(m):
            if skip_non_finite:
                out.append(RefEpoch("non_finite", False, None, None))
                continue
            out.append(RefEpoch("non_finite", True, None, None))
            return out
        if last_m is None:
            last_m, last_e = m, e
            out.append(RefEpoch("first", False, None, None))
            continue
        prev_m, prev_e = last_m, last_e
        last_m, last_e = m, e  # the reference moves to every finite-metric epoch

        # %dPerf, improvement positive
        gain = (m - prev_m) if maximise else (prev_m - m)
        perf: float | None = None
        if prev_m != 0.0:
            perf = 100.0 * gain / abs(prev_m)
        elif gain == 0.0:
            perf = 0.0  # zero to zero: no change; zero to anything else: no base, undefined
        # %dEmis of the cumulative reading
        emis: float | None = None
        if not (math.isnan(prev_e) or math.isinf(prev_e) or math.isnan(e) or math.isinf(e)) and prev_e > 0.0:
            emis = 100.0 * (e - prev_e) / prev_e
        if perf is None or emis is None or not emis > 0.0:
            out.append(RefEpoch("undefined", False, None, ema))
            continue
        aer = perf / emis
        if i < w:
            collected.append(aer)
            out.append(RefEpoch("warmup", False, aer, None))
            continue
        if ema is None:
            ema = sum(collected) / len(collected) if collected else eps
        ema = alpha * aer + (1.0 - alpha) * ema
        stop = aer < beta * ema
        out.append(RefEpoch("active", stop, aer, ema))
        if stop:
            return out
    return out


# ------------------------------------------------------------------------------------------------ strategies

non_finite = st.sampled_from([math.nan, math.inf, -math.inf])
plain_metric = st.one_of(
    st.just(0.0),
    st.sampled_from([0.5, 0.6, 0.7, 1.0, 2.0]),  # repeats: flat epochs and exact ties
    st.floats(0.01, 5.0),
    st.floats(-5.0, -0.01),
)


@st.composite
def metric_sequences(draw, n: int, allow_non_finite: bool) -> list[float]:
    if draw(st.booleans()):
        metrics = draw(st.lists(plain_metric, min_size=n, max_size=n))
    else:  # a noisy but mostly improving random walk: longer runs before a stop
        m = draw(st.floats(0.1, 2.0))
        metrics = [m]
        for _ in range(n - 1):
            m *= 1.0 + draw(st.floats(-0.05, 0.25))
            metrics.append(m)
    if allow_non_finite:
        for i in draw(st.lists(st.integers(0, n - 1), max_size=2)):
            metrics[i] = draw(non_finite)
    return metrics


@st.composite
def emission_sequences(draw, n: int, glitches: bool) -> list[float]:
    e = draw(st.one_of(st.just(0.0), st.floats(1e-6, 10.0)))
    readings = [e]
    increment = st.one_of(st.just(0.0), st.floats(1e-6, 5.0), st.floats(-1.0, -1e-6)) if glitches else None
    for _ in range(n - 1):
        e = e + (draw(increment) if glitches else draw(st.floats(1e-4, 5.0)))
        readings.append(e)
    if glitches:
        for i in draw(st.lists(st.integers(0, n - 1), max_size=1)):
            readings[i] = draw(non_finite)
    return readings


@st.composite
def anges_cases(draw, allow_non_finite: bool = True, glitches: bool = True):
    n = draw(st.integers(2, 14))
    return {
        "metrics": draw(metric_sequences(n, allow_non_finite)),
        "emissions": draw(emission_sequences(n, glitches)),
        "direction": draw(st.sampled_from([MAX, MIN])),
        "alpha": draw(st.one_of(st.sampled_from([0.0, 0.5, 0.9, 1.0]), st.floats(0.0, 1.0))),
        "beta": draw(st.one_of(st.sampled_from([0.0, 0.2, 1.0]), st.floats(0.0, 2.0))),
        "warmup": draw(st.integers(0, 6)),
        "epsilon": draw(st.sampled_from([1e-6, 1e-3, 1.0])),
        "policy": draw(st.sampled_from(list(NonFiniteMetricPolicy))),
    }


def make_anges(case) -> AnGes:
    return AnGes(case["direction"], case["alpha"], case["beta"], case["warmup"], case["epsilon"], case["policy"])


def run_rule(rule: StoppingRule, metrics, emissions, start: int = 1):
    decisions = []
    for offset, (m, e) in enumerate(zip(metrics, emissions, strict=True)):
        d = rule.update(EpochObservation(start + offset, m, e))
        decisions.append(d)
        if d.should_stop:
            break
    return decisions


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


# ---------------------------------------------------------------------------------------------------- properties


@SETTINGS
@given(anges_cases())
def test_anges_matches_reference_implementation(case):
    decisions = run_rule(make_anges(case), case["metrics"], case["emissions"])
    ref = reference_anges(
        case["metrics"],
        case["emissions"],
        case["direction"] is MAX,
        case["alpha"],
        case["beta"],
        case["warmup"],
        case["epsilon"],
        case["policy"] is NonFiniteMetricPolicy.SKIP,
    )
    assert len(decisions) == len(ref)
    for d, r in zip(decisions, ref, strict=True):
        assert d.phase.value == r.kind
        assert d.should_stop == r.stop
        assert close(d.aer, r.aer)
        if r.kind in ("active", "undefined"):
            assert close(d.ema, r.ema)
    ref_stop = next((i for i, r in enumerate(ref, 1) if r.stop), None)
    rule_stop = next((d.epoch for d in decisions if d.should_stop), None)
    assert rule_stop == ref_stop


@SETTINGS
@given(anges_cases())
def test_anges_never_stops_before_max_2_w_on_finite_metrics(case):
    case["policy"] = NonFiniteMetricPolicy.SKIP  # a non-finite metric may only stop under the STOP policy
    decisions = run_rule(make_anges(case), case["metrics"], case["emissions"])
    for d in decisions:
        if d.should_stop:
            assert d.epoch >= max(2, case["warmup"])
            assert d.phase is Phase.ACTIVE


@SETTINGS
@given(anges_cases())
def test_anges_replay_is_deterministic(case):
    first = [repr(d.as_dict()) for d in run_rule(make_anges(case), case["metrics"], case["emissions"])]
    second = [repr(d.as_dict()) for d in run_rule(make_anges(case), case["metrics"], case["emissions"])]
    assert first == second


@SETTINGS
@given(anges_cases(), st.integers(0, 14))
def test_anges_state_round_trip_at_any_epoch(case, split):
    metrics, emissions = case["metrics"], case["emissions"]
    split = min(split, len(metrics))
    whole = [repr(d.as_dict()) for d in run_rule(make_anges(case), metrics, emissions)]

    rule = make_anges(case)
    head = run_rule(rule, metrics[:split], emissions[:split])
    if head and head[-1].should_stop:
        tail = []
    else:
        resumed = AnGes(MIN if case["direction"] is MAX else MAX, alpha=0.3, beta=0.7, warmup=9, epsilon=0.25)
        resumed.load_state_dict(json.loads(json.dumps(rule.state_dict())))
        tail = run_rule(resumed, metrics[split:], emissions[split:], start=split + 1)
    assert [repr(d.as_dict()) for d in head + tail] == whole


@SETTINGS
@given(anges_cases(allow_non_finite=False))
def test_closed_form_agrees_with_the_rule(case):
    assume(case["alpha"] * case["beta"] < 1.0)
    k = effective_threshold_fraction(case["alpha"], case["beta"])
    decisions = run_rule(make_anges(case), case["metrics"], case["emissions"])
    warm = [d.aer for d in decisions if d.phase is Phase.WARMUP]
    ema_prev = sum(warm) / len(warm) if warm else case["epsilon"]
    for d in decisions:
        if d.phase is not Phase.ACTIVE:
            continue
        line = k * ema_prev
        if not math.isclose(d.aer, line, rel_tol=1e-9, abs_tol=1e-300):  # away from the rounding-level tie
            assert d.should_stop == (d.aer < line)
        ema_prev = d.ema


@SETTINGS
@given(
    direction=st.sampled_from([MAX, MIN]),
    start=st.floats(0.1, 1.0),
    percents=st.lists(st.floats(0.1, 50.0), min_size=1, max_size=12),
    alpha=st.floats(0.0, 1.0),
    beta=st.floats(0.0, 0.99),
    warmup=st.integers(0, 6),
)
def test_non_decreasing_positive_aer_never_stops(direction, start, percents, alpha, beta, warmup):
    # Emissions double every epoch (+100 %), the metric improves by p_i % with p_i non-decreasing, so
    # AER_i = p_i / 100 is positive, >= 0.001 > epsilon and non-decreasing. The EMA before epoch i is then a
    # weighted mean of earlier AERs (or of epsilon) <= AER_i, and with beta < 1 the rule never stops.
    percents = sorted(percents)
    metrics = [start]
    for p in percents:
        metrics.append(metrics[-1] * (1.0 + p / 100.0) if direction is MAX else metrics[-1] * (1.0 - p / 100.0))
    emissions = [2.0**i for i in range(len(metrics))]
    rule = AnGes(direction, alpha=alpha, beta=beta, warmup=warmup)
    decisions = run_rule(rule, metrics, emissions)
    assert not rule.stopped
    assert len(decisions) == len(metrics)
    assert all(d.aer is None or d.aer > 0 for d in decisions)


@SETTINGS
@given(
    direction=st.sampled_from([MAX, MIN]),
    warmup=st.integers(0, 5),
    start=st.floats(0.1, 1.0),
    gains=st.lists(st.floats(0.01, 30.0), min_size=1, max_size=10),
    drop=st.one_of(st.just(0.0), st.floats(0.0, 30.0)),
    e1=st.floats(1e-4, 10.0),
    increments=st.lists(st.floats(1e-3, 10.0), min_size=11, max_size=11),
    tail=st.lists(st.floats(-30.0, 30.0), max_size=4),
)
def test_defaults_stop_by_the_first_non_improving_epoch(direction, warmup, start, gains, drop, e1, increments, tail):
    # alpha 0.9, beta 0.2. The metric strictly improves at epochs 2..j-1 and does not improve at epoch j;
    # emissions strictly increase. All AERs before j are positive so the EMA is positive, and AER_j <= 0 is
    # below k * EMA_prev: the rule stops at j at the latest, provided j is past the warm-up (j >= W).
    j = len(gains) + 2
    assume(j >= warmup)

    def step(m: float, pct: float) -> float:  # pct > 0 improves in either direction
        return m * (1.0 + pct / 100.0) if direction is MAX else m * (1.0 - pct / 100.0)

    metrics = [start]
    for g in gains:
        metrics.append(step(metrics[-1], g))
    metrics.append(step(metrics[-1], -drop))
    for t in tail:  # whatever happens afterwards must not matter
        metrics.append(step(metrics[-1], t))
    emissions = [e1]
    for inc in increments[: len(metrics) - 1]:
        emissions.append(emissions[-1] + inc)

    rule = AnGes(direction, warmup=warmup)
    run_rule(rule, metrics, emissions)
    assert rule.stopped
    assert max(2, warmup) <= rule.stopped_epoch <= j


# --------------------------------------------------------------------------------------------------- patience


def reference_patience(metrics: list[float], maximise: bool, patience: int, min_delta: float, skip: bool) -> int | None:
    """Stop epoch of patience early stopping: `patience` consecutive epochs without beating best by min_delta."""
    best: float | None = None
    bad_streak = 0
    for i, m in enumerate(metrics, start=1):
        if not math.isfinite(m):
            if skip:
                continue
            return i
        if best is None or (m - best > min_delta if maximise else best - m > min_delta):
            best, bad_streak = m, 0
            continue
        bad_streak += 1
        if bad_streak >= patience:
            return i
    return None


# Metrics on a grid of multiples of 1/64 and dyadic min_delta values: every sum and difference below is exact,
# so "beats best by more than min_delta" has one answer however it is written.
grid_metric = st.integers(-128, 128).map(lambda k: k / 64.0)


@SETTINGS
@given(
    metrics=st.lists(st.one_of(grid_metric, grid_metric, grid_metric, non_finite), min_size=1, max_size=15),
    maximise=st.booleans(),
    patience=st.integers(1, 5),
    min_delta=st.sampled_from([0.0, 1 / 64, 0.125, 0.25]),
    skip=st.booleans(),
)
def test_patience_matches_reference(metrics, maximise, patience, min_delta, skip):
    direction = MAX if maximise else MIN
    policy = NonFiniteMetricPolicy.SKIP if skip else NonFiniteMetricPolicy.STOP
    rule = Patience(direction, patience, min_delta, policy)
    emissions = [float(i) for i in range(1, len(metrics) + 1)]
    decisions = run_rule(rule, metrics, emissions)
    expected = reference_patience(metrics, maximise, patience, min_delta, skip)
    assert next((d.epoch for d in decisions if d.should_stop), None) == expected
    if expected is not None:
        assert rule.stopped_epoch == expected and len(decisions) == expected


@SETTINGS
@given(
    metrics=st.lists(st.floats(-10.0, 10.0), min_size=1, max_size=15),
    emissions=st.lists(st.floats(-1.0, 10.0), min_size=15, max_size=15),
    direction=st.sampled_from([MAX, MIN]),
)
def test_full_budget_never_stops_on_finite_metrics(metrics, emissions, direction):
    rule = FullBudget(direction)
    decisions = run_rule(rule, metrics, emissions[: len(metrics)])
    assert len(decisions) == len(metrics)
    assert not rule.stopped
    assert all(d.phase in (Phase.FIRST, Phase.ACTIVE, Phase.UNDEFINED) for d in decisions)
