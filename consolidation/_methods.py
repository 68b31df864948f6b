"""Names of the single-label consolidation methods, shared by the CLI and the Lambda handler."""

from __future__ import annotations

from typing import Any

from ._errors import InvalidParameterError

__all__ = ["METHODS", "make_estimator"]

#: Method name -> what it is. ``default`` is :func:`consolidation.default_estimator`.
METHODS: dict[str, str] = {
    "default": "the recommended consolidator (consolidation.default_estimator())",
    "mds": "AWS Modified Dawid-Skene, as Ground Truth's classification consolidation",
    "mds-service": "MDS with confidence capped at 0.95, as the service reports it",
    "ds": "classic Dawid-Skene EM",
    "mv": "majority vote (seeded random tie-break)",
}


def make_estimator(
    name: str, *, seed: int | None = 0, backend: str = "auto", n_jobs: int | None = None
) -> Any:
    """Return a fresh, unfitted estimator for a method name of :data:`METHODS`.

    ``seed`` and ``backend`` apply to every method that has them (``mv`` has no backend);
    ``seed=None`` keeps the default estimator's own seed (0). ``n_jobs`` is the number of
    threads that fit the default's settings (None keeps its own, every CPU: see
    :class:`~consolidation.BayesianDawidSkene`); the other methods fit one model and ignore it.

    Examples
    --------
    >>> make_estimator("mds-service")
    ModifiedDawidSkene(max_confidence=0.95, seed=0)
    >>> make_estimator("default", seed=3, backend="numpy").get_params()["seed"]
    3
    >>> make_estimator("default", n_jobs=1).get_params()["n_jobs"]
    1
    """
    from . import dawid_skene, majority_vote

    if name == "default":
        from . import default_estimator

        est = default_estimator().set_params(backend=backend)
        if n_jobs is not None:
            est.set_params(n_jobs=n_jobs)
        return est if seed is None else est.set_params(seed=seed)
    if name == "mds":
        return dawid_skene.ModifiedDawidSkene(seed=seed, backend=backend)
    if name == "mds-service":
        return dawid_skene.ModifiedDawidSkene(max_confidence=0.95, seed=seed, backend=backend)
    if name == "ds":
        return dawid_skene.DawidSkene(seed=seed, backend=backend)
    if name == "mv":
        return majority_vote.MajorityVote(seed=seed)
    raise InvalidParameterError("method", name, "one of " + ", ".join(METHODS))
