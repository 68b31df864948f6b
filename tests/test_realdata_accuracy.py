"""Pinned accuracy of MV, DS, MDS and the default estimator on the 22 categorical real data sets.

Accuracy is over the gold items that have answers; an item whose top posterior is shared by ``m``
classes earns ``1/m`` when the gold label is among them (``quality.accuracy(ties="split")``).
Skipped cleanly when ``../shared/datasets`` is absent.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from consolidation import DawidSkene, MajorityVote, ModifiedDawidSkene
from consolidation.bayesian_ds import default_estimator
from consolidation.quality import accuracy
from tests.realdata import load

pytestmark = pytest.mark.shared

# name: (MV, DS, MDS, default)
PINNED = {
    "crowdscale2013_fact_eval": (0.9019, 0.8507, 0.9010, 0.8924),
    "mozafari_face": (0.6367, 0.6404, 0.6147, 0.6558),
    "rodrigues_labelme": (0.7660, 0.7890, 0.7750, 0.7970),
    "rodrigues_music_genre": (0.7042, 0.7686, 0.7829, 0.7843),
    "rodrigues_sentiment_polarity": (0.8859, 0.9148, 0.9114, 0.9152),
    "snow_rte": (0.8969, 0.9275, 0.9313, 0.9313),
    "snow_temp": (0.9361, 0.9416, 0.9437, 0.9437),
    "snow_wsd": (0.9944, 0.9944, 0.9944, 0.9944),
    "trec2010_binary": (0.6514, 0.7024, 0.5604, 0.7037),
    "venanzi_sp_amt": (0.9430, 0.9440, 0.9440, 0.9400),
    "venanzi_ws_amt": (0.8533, 0.8400, 0.8567, 0.8567),
    "venanzi_ws_cf": (0.8822, 0.8300, 0.8733, 0.8933),
    "welinder_bluebird": (0.7593, 0.8981, 0.7778, 0.8796),
    "zencrowd_all": (0.8297, 0.7926, 0.8510, 0.8686),
    "zencrowd_in": (0.7397, 0.7598, 0.7902, 0.7770),
    "zencrowd_us": (0.8620, 0.8235, 0.8941, 0.9142),
    "zheng_d_possent": (0.9335, 0.9600, 0.9530, 0.9610),
    "zheng_d_product": (0.8966, 0.9396, 0.9041, 0.9322),
    "zheng_s_adult": (0.7583, 0.7387, 0.7087, 0.7628),
    "zheng_s_rel": (0.5422, 0.6110, 0.1935, 0.5944),
    "zhou_dog": (0.8222, 0.8426, 0.8290, 0.8364),
    "zhou_web": (0.7307, 0.8217, 0.7795, 0.8357),
}
TOL = 0.003


def _estimators() -> dict[str, object]:
    return {
        "MV": MajorityVote(seed=0),
        "DS": DawidSkene(),
        "MDS": ModifiedDawidSkene(),
        "default": default_estimator(),
    }


@cache
def _fitted_accuracy(name: str) -> dict[str, float]:
    """Accuracy of each of MV, DS, MDS and the default on one set (fitted once per session)."""
    ann, gold = load(name)
    got = {}
    for method, est in _estimators().items():
        est.fit(ann)  # type: ignore[attr-defined]
        got[method] = accuracy(est, gold)
    return got


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_accuracy(name: str) -> None:
    got = _fitted_accuracy(name)
    expected = dict(zip(("MV", "DS", "MDS", "default"), PINNED[name], strict=True))
    for method, value in expected.items():
        assert got[method] == pytest.approx(value, abs=TOL), (name, method, got)


def test_pinned_table_summary() -> None:
    """The issue's bars, on this run's fits (shared with the test above, not the pinned table)."""
    assert len(PINNED) == 22
    table = np.array(
        [[_fitted_accuracy(n)[m] for m in ("MV", "DS", "MDS", "default")] for n in PINNED]
    )
    mv, ds, mds, default = table.T
    assert mv.mean() == pytest.approx(0.8148, abs=1e-3)
    assert ds.mean() == pytest.approx(0.8332, abs=1e-3)
    # The default beats MV, DS and MDS on average and fixes DS's and MDS's collapses ...
    assert default.mean() > max(mv.mean(), ds.mean(), mds.mean()) + 0.005
    assert default.mean() >= 0.848  # short of the 0.850: see the README
    assert mds[list(PINNED).index("zheng_s_rel")] < 0.2  # MDS class-prior collapse
    # ... and is never more than 1 point below majority vote (worst: crowdscale2013_fact_eval).
    assert (default - mv).min() >= -0.01


def test_a_class_mix_estimated_from_a_fifth_of_the_gold_lifts_the_default() -> None:
    """The README's claim: a known class mix (here counted on a random 20 % of the gold items,
    plus 0.5 per class) lifts the default on the other 80 %, past 0.850 on average."""
    from consolidation.bayesian_ds import BayesianDawidSkene

    plain, mixed = [], []
    for name in sorted(PINNED):
        ann, gold = load(name)
        items = [i for i in ann.item_ids.tolist() if i in gold]
        sample = np.random.default_rng(0).random(len(items)) < 0.2
        held = {i: gold[i] for i, s in zip(items, sample, strict=True) if not s}
        counts = dict.fromkeys(ann.classes.tolist(), 0.5)
        for i, s in zip(items, sample, strict=True):
            if s:
                counts[gold[i]] += 1
        est = BayesianDawidSkene(**{**default_estimator().get_params(), "class_prior": counts})
        mixed.append(accuracy(est.fit(ann), held))
        plain.append(accuracy(default_estimator().fit(ann), held))
    print(f"held-out mean: default {np.mean(plain):.4f}, with the class mix {np.mean(mixed):.4f}")
    assert np.mean(mixed) >= 0.850
    assert np.mean(mixed) >= np.mean(plain) + 0.002


def test_ebcc_does_not_stop_on_a_plateau_whatever_the_seed() -> None:
    """Convergence is judged on the subtype states too. Judged on the class posteriors alone, an
    EBCC restart could stop on a plateau (ELBO -5389 instead of -5365 on zencrowd_us) and lose
    the evidence race to the pooled IBCC: seed 1 then gave 0.827 instead of 0.914."""
    ann, gold = load("zencrowd_us")
    for seed in range(6):
        est = default_estimator().set_params(seed=seed).fit(ann)
        assert est.selected_params_["n_subtypes"] == 3, seed
        assert est.elbo_ == pytest.approx(-5365.3, abs=0.5), seed
        assert accuracy(est, gold) >= 0.91, seed


def test_ebcc_climbs_to_its_optimum_on_crowdscale_whatever_the_seed() -> None:
    """Mean-field EBCC climbs slowly on crowdscale2013_fact_eval: stopped at 200 iterations,
    seeds 1 and 5 ended 1.5 points below majority vote (ELBO -78934 / -78905). With
    ``max_iter=1000`` they reach the optimum the others find (-78380) and the pinned 0.892."""
    ann, gold = load("crowdscale2013_fact_eval")
    mv = PINNED["crowdscale2013_fact_eval"][0]
    for seed in (1, 5):
        est = default_estimator().set_params(seed=seed).fit(ann)
        assert est.elbo_ == pytest.approx(-78379.8, abs=1.0), seed
        assert accuracy(est, gold) >= mv - 0.01, seed
