"""Regression on real crowds: the Ground Truth birds job and the Zheng et al. (2017) data sets."""

from __future__ import annotations

import numpy as np
import pytest

from consolidation import Annotations, DawidSkene, MajorityVote, ModifiedDawidSkene
from tests.conftest import dataset_path
from tests.realdata import accuracy, birds_service_labels, load

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def birds() -> tuple[Annotations, dict[str, int], dict[str, int]]:
    folder = dataset_path("groundtruth", "birds-ic-mturk5")
    ann = Annotations.from_csv(folder / "answers.csv", classes=list(range(10)))
    _, gold = load("groundtruth/birds-ic-mturk5")
    return ann, {str(k): v for k, v in gold.items()}, birds_service_labels()


def test_birds_mds_agrees_with_the_service(birds: tuple, capsys: pytest.CaptureFixture) -> None:
    ann, gold, service = birds
    assert (ann.n_items, ann.n_workers, ann.n_answers) == (302, 97, 1510)
    scores = {}
    for name, est in (
        ("MV", MajorityVote(seed=0)),
        ("DS", DawidSkene()),
        ("MDS", ModifiedDawidSkene(max_confidence=0.95)),
    ):
        est.fit(ann)
        ids = [str(i) for i in est.item_ids_.tolist()]
        agree = sum(service[i] == lab for i, lab in zip(ids, est.labels_.tolist(), strict=True))
        acc = accuracy(np.array(ids, dtype=object), est.labels_, gold)
        scores[name] = (agree, acc)
        with capsys.disabled():
            print(f"\nbirds-ic-mturk5 {name}: accuracy {acc:.4f}, agrees with service {agree}/302")
    mds_agree, mds_acc = scores["MDS"]
    assert mds_agree >= 301
    assert mds_acc == pytest.approx(273 / 302)  # reference 1.10/1.11: 90.40 %
    assert scores["MV"][1] > 0.89
    mds = ModifiedDawidSkene(max_confidence=0.95).fit(ann)
    assert mds.confidence_.max() == 0.95
    assert mds.converged_
    assert mds.n_iter_ == 14  # reference 1.5: 14 epochs with a correct rule


def test_birds_notebook_compat_two_epochs(birds: tuple) -> None:
    ann, gold, _ = birds
    mds = ModifiedDawidSkene(fixed_iter=2).fit(ann)
    assert mds.n_iter_ == 2
    assert accuracy(mds.item_ids_.astype(str), mds.labels_, gold) == pytest.approx(273 / 302)


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("zheng_d_product", 0.935, 0.942), ("zheng_d_possent", 0.958, 0.962)],
)
def test_dawid_skene_matches_published_accuracy(name: str, low: float, high: float) -> None:
    ann, gold = load(name)
    for backend in ("numba", "numpy"):
        ds = DawidSkene(backend=backend).fit(ann)
        acc = accuracy(ds.item_ids_, ds.labels_, gold)
        assert low <= acc <= high, (backend, acc)


def test_backends_agree_on_real_data() -> None:
    ann, _ = load("zheng_s_rel")
    for est in (DawidSkene, ModifiedDawidSkene):
        a = est(backend="numba").fit(ann)
        b = est(backend="numpy").fit(ann)
        assert a.n_iter_ == b.n_iter_
        np.testing.assert_allclose(a.posteriors_, b.posteriors_, atol=1e-9, rtol=0)
        np.testing.assert_allclose(a.confusions_, b.confusions_, atol=1e-9, rtol=0)
