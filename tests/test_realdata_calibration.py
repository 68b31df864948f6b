"""Calibration of the default estimator on the 22 real data sets, with and without temperature.

Skipped cleanly when ``../shared/datasets`` is absent.
"""

from __future__ import annotations

import numpy as np
import pytest

from consolidation import default_estimator
from consolidation.quality import calibration, fit_temperature, gold_codes, temper
from tests.realdata import load
from tests.test_realdata_accuracy import PINNED

pytestmark = pytest.mark.shared


def test_temperature_from_a_fifth_of_the_gold_halves_real_set_ece() -> None:
    before, after = [], []
    for name in sorted(PINNED):
        ann, gold = load(name)
        est = default_estimator().fit(ann)
        rows, codes = gold_codes(est, gold)
        post = est.posteriors_[rows]
        fit_rows = np.random.default_rng(0).random(codes.size) < 0.2
        held = ~fit_rows
        t = fit_temperature(post[fit_rows], codes[fit_rows])
        before.append(calibration(post[held], codes[held]).ece)
        tempered = temper(post[held], t)
        after.append(calibration(tempered, codes[held]).ece)
        np.testing.assert_array_equal(tempered.argmax(axis=1), post[held].argmax(axis=1))
    before_mean, after_mean = float(np.mean(before)), float(np.mean(after))
    # Untempered, every model here is overconfident on real crowds (mean ECE ~0.11) ...
    assert before_mean > 0.1
    # ... and one temperature per set, fitted on 20% of its gold items, brings it near 0.05.
    assert after_mean < 0.07
    assert after_mean < 0.6 * before_mean
    assert sum(a < b for a, b in zip(after, before, strict=True)) >= 18
