"""Bayesian Dawid-Skene with correlated workers: the recommended default consolidator.

A variational-Bayes Dawid-Skene (Kim & Ghahramani's IBCC) extended with item *subtypes* (Li,
Rubinstein & Cohn's EBCC): every true class ``k`` splits into ``M`` latent subtypes and every
worker has one confusion row per (class, subtype). Items of one subtype share how workers err on
them, which models the correlated mistakes that make plain Dawid-Skene trust a clique of workers
who agree on the same wrong answers (ZenCrowd, CrowdScale). With ``n_subtypes=1`` it is IBCC.

Priors (all Dirichlet): each confusion row ``Dir(off + (diag - off) * e_k)`` (diagonal-heavy
pseudo-counts whose weight fades as a worker's answers grow), subtype weights per class
``Dir(subtype_prior / M)`` (sparse: unused subtypes vanish), class prior ``Dir(majority-vote class
counts)`` (an empirical prior that keeps the class mix near the crowd's and prevents the
class-prior collapse of one-coin models). Mean-field updates reuse the E-step and soft-count
M-step kernels of :mod:`._kernels.em` over ``K * M`` latent states; ``n_restarts`` random subtype
splits each run a 40-iteration burn-in, and the one with the highest evidence lower bound (ELBO)
then runs on to convergence.

``alternatives`` lets one fit also try other settings of the structure and the priors (say, no
subtypes, or a weaker confusion prior) and keep the one whose ELBO is highest: Bayesian model
selection by the variational bound on the evidence (type-II maximum likelihood; MacKay 1992,
Bishop 2006 sec. 10.1.4). All settings share the data and the class prior, so their bounds are
comparable; a bound is not the evidence itself, and a looser bound (more latent subtypes) is
penalised slightly. :func:`default_estimator` uses this to choose between EBCC, where workers
err together, and IBCC with a strong, a weak or a pooled confusion prior, where they do not.

``pooled_prior`` makes the confusion prior hierarchical (Paun et al. 2018 found partially pooled
Dawid-Skene the most accurate of the annotation models they compared): its mean is the crowd's
typical confusion, refitted every iteration by type-II maximum likelihood (Minka 2000's
fixed-point update of a Dirichlet mean at a fixed total), so a worker with few answers borrows
the crowd's habits (on graded scales, confusing neighbouring grades) instead of a symmetric
prior's. A pooled setting's ELBO has fitted ``K * M * (K - 1)`` means to the data, so model
selection charges it BIC's ``d / 2 * log(workers)`` (Schwarz 1978).

References
----------
A. P. Dawid and A. M. Skene, Applied Statistics 28(1):20-28, 1979.
H.-C. Kim and Z. Ghahramani, "Bayesian classifier combination", AISTATS 2012.
E. Simpson, S. Roberts, I. Psorakis and A. Smith, "Dynamic Bayesian combination of multiple
imperfect classifiers", Decision Making and Imperfection, Springer 2013 (IBCC-VB).
Y. Li, B. I. P. Rubinstein and T. Cohn, "Exploiting worker correlation for label aggregation in
crowdsourcing", ICML 2019 (EBCC; default hyper-parameters ``a_v=4, b_v=1, a_pi=0.1``).
D. J. C. MacKay, "Bayesian interpolation", Neural Computation 4(3):415-447, 1992.
T. P. Minka, "Estimating a Dirichlet distribution", technical report, MIT 2000 (revised 2012).
S. Paun, B. Carpenter, J. Chamberlain, D. Hovy, U. Kruschwitz and M. Poesio, "Comparing Bayesian
models of annotation", TACL 6:571-585, 2018.
G. Schwarz, "Estimating the dimension of a model", Annals of Statistics 6(2):461-464, 1978.
C. M. Bishop, Pattern Recognition and Machine Learning, Springer 2006, sec. 10.1.4.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._annotations import Annotations
from ._checks import check_count, check_real
from ._dirichlet import dirichlet_stats, kl_dirichlet, pooled_mean
from ._errors import InvalidParameterError
from ._kernels.em import column_sums, e_step_tracked, group_sums, m_step_counts
from ._threads import check_n_jobs, map_ordered, raise_if_cancelled
from .dawid_skene import _EMConsolidator
from .worker_state import WorkerState

__all__ = ["BayesianDawidSkene", "default_estimator"]

F64 = NDArray[np.float64]

#: Settings an entry of ``alternatives`` may change.
#: The smallest pooled prior (pseudo-counts per row) whose fixed point stays finite.
POOLED_MIN = 0.01

_SETTINGS = ("n_subtypes", "diag_prior", "off_prior", "subtype_prior", "pooled_prior")
#: One mean-field run: final ELBO, state posteriors q (n, K*M), confusion Dirichlet parameters
#: (w, K, K*M), subtype Dirichlet parameters (K, M), ELBO per iteration, converged, and the
#: confusion prior it ended with (see :data:`_Prior`).
_Prior = tuple[F64, F64, float | None]
_Run = tuple[float, F64, F64, F64, list[float], bool, _Prior]

#: Iterations every restart runs before all but the best (by ELBO) are dropped. On the 22 real
#: data sets, 40 keeps the restart that selection at convergence keeps on 21 (10 and 20: 19);
#: on 1e6 answers it halves the time of the default estimator.
_BURN_IN = 40


class BayesianDawidSkene(_EMConsolidator):
    """Variational Bayesian Dawid-Skene with item subtypes (EBCC); see the module docstring.

    Parameters
    ----------
    n_subtypes : int, default 3
        Latent subtypes per class (``M``); 1 gives IBCC (no worker correlation).
    n_restarts : int, default 3
        Random subtype initialisations. Each runs 40 iterations; the one with the highest ELBO
        then runs on to convergence and the others are dropped. With ``n_subtypes=1`` one run is
        made (it is deterministic).
    diag_prior, off_prior : float, default 4.0 and 1.0
        Dirichlet pseudo-counts of each confusion row on the correct class and on every other
        class (the worker's prior accuracy is ``diag / (diag + (K - 1) off)``).
    subtype_prior : float, default 0.1
        Total Dirichlet concentration of the subtype weights of a class.
    pooled_prior : float or None, default None
        None: the confusion prior is fixed by ``diag_prior`` and ``off_prior``. A number: the
        prior is *pooled* over the crowd (empirical Bayes, a hierarchical Dawid-Skene): every
        iteration its mean is refitted to the workers' average confusion (Minka's fixed-point
        Dirichlet update at a fixed total), with ``pooled_prior`` pseudo-counts per row, so a
        worker with few answers is assumed to err as the crowd does rather than uniformly.
        ``diag_prior`` and ``off_prior`` then only give the starting mean. At least 0.01: below,
        the fixed point's digamma terms leave floating point (and a prior of so few
        pseudo-counts pools nothing).
    class_prior : "majority", float, mapping or sequence, default "majority"
        The class prior. ``"majority"``: a Dirichlet whose pseudo-counts are the majority-vote
        class counts; a number: that many pseudo-counts for every class. A mapping (class value
        -> weight, e.g. counts of a gold sample; a pandas Series goes by its index) or a
        sequence of K weights in class order: the class mix is *known*, held fixed at the
        normalised weights and not learned. Every class needs a positive finite weight. Use it
        when the mix is known or can be estimated from a few gold labels: the crowd's own
        answers can be biased towards a class (see the README).
    alternatives : sequence of dict, default ()
        Other settings to fit as well, each a dict that overrides some of ``n_subtypes``,
        ``diag_prior``, ``off_prior``, ``subtype_prior`` and ``pooled_prior``; the setting (and
        restart) with the highest score is kept. The score is the ELBO, less BIC's price
        ``K * M * (K - 1) / 2 * log(workers)`` for the prior means a pooled setting fits.
        Empty: fit the given setting only.
    max_iter : int, default 1000
        Maximum mean-field iterations per restart. Mean-field EBCC can climb slowly: on
        crowdscale2013_fact_eval it takes 350 to over 1000 iterations to reach its optimum, and
        stopped at 200 it fell 1.5 points below majority vote at two seeds of six. Fits that
        converge sooner (most do, in under 200) are not slowed.
    tol : float, default 1e-3
        Stop when no posterior of a (class, subtype) state moves by more than ``tol`` in an
        iteration. The subtypes count too: judged on the classes alone, EBCC could stop on a
        plateau where the classes hardly move while the subtypes regroup.
    seed : int, default 0
        Seed of the subtype initialisations (results are deterministic for a given seed).
    backend : {"auto", "numba", "numpy"}, default "auto"
        Kernel implementation; both agree to 1e-9.
    n_jobs : int or None, default None
        Threads that fit settings (the given one and the ``alternatives``) at the same time:
        None or 1 fits them one after the other, -1 uses every CPU this process may run on, and
        a positive number at most that many. Each thread runs the kernels single-threaded. The
        results do not depend on it (bit for bit); the memory of the settings fitted at once
        adds up.

    Attributes
    ----------
    labels_, posteriors_, confidence_, item_ids_, classes_, worker_ids_ :
        As in :class:`~consolidation.DawidSkene`; posteriors are marginal over subtypes.
    confusions_ : ndarray of shape (n_workers, K, K)
        Posterior-mean confusion (rows = true class), averaged over subtypes with their weights.
    priors_ : ndarray of shape (K,)
        Posterior-mean class prior.
    subtype_weights_ : ndarray of shape (K, n_subtypes)
        Posterior-mean subtype weights within each class.
    confusion_prior_ : ndarray of shape (K, K)
        Dirichlet pseudo-counts of the kept setting's confusion prior (rows = true class),
        averaged over subtypes with their weights: the fixed prior, or for a pooled setting the
        crowd's learned typical worker.
    elbo_ : float
        Evidence lower bound of the kept restart.
    restart_elbos_ : ndarray of shape (n_restarts,)
        ELBO of every restart of the kept setting when the 40-iteration burn-in ended (or at
        convergence, if sooner); the kept restart is its argmax. One entry without subtypes.
    selected_params_ : dict
        The kept setting: ``n_subtypes``, ``diag_prior``, ``off_prior``, ``subtype_prior``,
        ``pooled_prior``.
    setting_elbos_ : ndarray of shape (1 + len(alternatives),)
        Final ELBO of the given setting, then of each alternative.
    setting_scores_ : ndarray of shape (1 + len(alternatives),)
        The ELBOs less the pooling penalty; the kept setting is its argmax.
    n_iter_, converged_ : int, bool
        Iterations of the kept restart and whether ``tol`` was met.
    log_likelihoods_ : ndarray
        ELBO after each iteration of the kept restart.
    worker_state_ : WorkerState
        Class-level soft counts for a warm start.
    annotations_ : Annotations
        The answers fitted (a reference), used by :mod:`consolidation.quality`.

    Examples
    --------
    >>> rows = [("i1", "w1", "cat"), ("i1", "w2", "cat"), ("i1", "w3", "dog"),
    ...         ("i2", "w1", "dog"), ("i2", "w2", "dog"), ("i2", "w3", "dog")]
    >>> est = BayesianDawidSkene(backend="numpy").fit(rows)
    >>> est.labels_.tolist()
    ['cat', 'dog']
    >>> bool(np.allclose(est.posteriors_.sum(axis=1), 1.0))
    True
    >>> est = BayesianDawidSkene(alternatives=[{"n_subtypes": 1}], backend="numpy").fit(rows)
    >>> sorted(est.selected_params_)
    ['diag_prior', 'n_subtypes', 'off_prior', 'pooled_prior', 'subtype_prior']
    >>> est.setting_elbos_.shape
    (2,)
    """

    subtype_weights_: F64
    confusion_prior_: F64
    elbo_: float
    restart_elbos_: F64
    selected_params_: dict[str, float | None]
    setting_elbos_: F64
    setting_scores_: F64
    annotations_: Annotations

    def __init__(
        self,
        *,
        n_subtypes: int = 3,
        n_restarts: int = 3,
        diag_prior: float = 4.0,
        off_prior: float = 1.0,
        subtype_prior: float = 0.1,
        pooled_prior: float | None = None,
        class_prior: Any = "majority",
        alternatives: Any = (),
        max_iter: int = 1000,
        tol: float = 1e-3,
        seed: int = 0,
        backend: str = "auto",
        n_jobs: int | None = None,
    ) -> None:
        self.n_subtypes = n_subtypes
        self.n_restarts = n_restarts
        self.diag_prior = diag_prior
        self.off_prior = off_prior
        self.subtype_prior = subtype_prior
        self.pooled_prior = pooled_prior
        self.class_prior = class_prior
        self.alternatives = alternatives
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed
        self.backend = backend
        self.n_jobs = n_jobs

    def _validate(self) -> None:
        super()._validate()
        check_count("n_restarts", self.n_restarts, 1, 1000)
        for number, setting in enumerate(self._settings()):
            try:
                _check_setting(setting)
            except InvalidParameterError as exc:  # say which setting, when it is an alternative
                if number == 0:
                    raise
                where = f"alternatives[{number - 1}]: {exc.name}"
                raise InvalidParameterError(where, exc.value, exc.allowed) from exc
        prior = self.class_prior
        if isinstance(prior, str):
            if prior != "majority":
                raise InvalidParameterError("class_prior", prior, _CLASS_PRIOR_ALLOWED)
        elif isinstance(prior, numbers.Real):
            check_real("class_prior", prior, 0.0, 1e12, low_open=True)
        elif not isinstance(prior, Mapping) and not hasattr(prior, "__len__"):
            raise InvalidParameterError("class_prior", prior, _CLASS_PRIOR_ALLOWED)
        check_count("seed", self.seed, 0, 2**63 - 1)
        check_n_jobs(self.n_jobs)

    def _settings(self) -> list[dict[str, Any]]:
        """Return the given setting, then each alternative applied over it."""
        own = {name: getattr(self, name) for name in _SETTINGS}
        alternatives = self.alternatives
        if isinstance(alternatives, Mapping | str | bytes) or not hasattr(alternatives, "__iter__"):
            raise InvalidParameterError(
                "alternatives", alternatives, "a sequence of dicts of " + ", ".join(_SETTINGS)
            )
        settings = [own]
        for alt in alternatives:
            if not isinstance(alt, Mapping) or not set(alt) <= set(_SETTINGS):
                raise InvalidParameterError(
                    "alternatives", alt, "a dict whose keys are among " + ", ".join(_SETTINGS)
                )
            settings.append({**own, **alt})
        return settings

    def fit(self, annotations: Any, *, warm_start: WorkerState | None = None) -> Any:
        """Fit the model (see :meth:`DawidSkene.fit`); returns ``self``.

        With ``warm_start``, a known worker's stored class-level counts are added to the prior
        pseudo-counts of each of its subtype rows.
        """
        super().fit(annotations, warm_start=warm_start)
        return self

    def _em(
        self,
        ann: Annotations,
        backend: Any,
        post: F64,
        counts: F64,
        stored: F64,
        stored_n: F64,
        warm: WorkerState | None,
    ) -> tuple[F64, F64, list[float], bool, float]:
        self.annotations_ = ann
        k = ann.n_classes
        votes = ann.vote_counts()
        start = votes / np.maximum(votes.sum(axis=1, keepdims=True), 1e-300)
        mix = _known_mix(self.class_prior, ann.classes)
        if mix is not None:
            alpha = mix  # fixed: no Dirichlet, nothing learned, no warm-start counts
        elif isinstance(self.class_prior, str):
            alpha = start.sum(axis=0) + 1e-3  # majority-vote class counts (never exactly 0)
        else:
            alpha = np.full(k, float(self.class_prior))
        if mix is None and warm is not None and warm.n_workers:
            alpha = alpha + warm.class_counts
        best: _Run | None = None
        setting_elbos: list[float] = []
        scores: list[float] = []
        best_score = -np.inf
        restart_elbos: F64 = np.empty(0)
        chosen: dict[str, Any] = {}
        settings = self._settings()
        ann.sorted_by_item()  # a lazy cache: built here, before settings may run in threads
        fits = map_ordered(
            lambda setting: self._fit_setting(ann, backend, start, alpha, stored, setting, mix),
            settings,
            self.n_jobs,
        )
        for setting, (result, elbos) in zip(settings, fits, strict=True):
            score = result[0] - _pooling_penalty(setting, k, ann.n_workers)
            if best is None or score > best_score:
                best, best_score, chosen, restart_elbos = result, score, setting, elbos
            setting_elbos.append(result[0])
            scores.append(score)
        assert best is not None
        elbo, q, mu, eta, lls, converged, (beta, _, _) = best
        m = int(chosen["n_subtypes"])
        self.selected_params_ = {
            name: (int(v) if name == "n_subtypes" else v if v is None else float(v))
            for name, v in chosen.items()
        }
        self.setting_elbos_ = np.asarray(setting_elbos)
        self.setting_scores_ = np.asarray(scores)
        self.restart_elbos_ = restart_elbos
        self.elbo_ = elbo
        group_sums(q, m, out=post)
        m_step_counts(backend, *ann.sorted_by_item()[:3], post, counts)
        weights = eta / eta.sum(axis=1, keepdims=True)  # (k, m)
        self.subtype_weights_ = weights
        self.confusion_prior_ = (beta.reshape(k, k, m) * weights[None]).sum(axis=2).T
        emit = mu / mu.sum(axis=1, keepdims=True)  # (w, l, s)
        emit_lt = (emit.reshape(ann.n_workers, k, k, m) * weights[None, None]).sum(axis=3)
        nu = mix if mix is not None else alpha + post.sum(axis=0)
        total = counts + stored
        acc = np.trace(total, axis1=1, axis2=2) / np.maximum(total.sum(axis=(1, 2)), 1e-300)
        return emit_lt, nu / nu.sum(), lls, converged, float(np.clip(acc.mean(), 0.0, 1.0))

    def _fit_setting(
        self,
        ann: Annotations,
        backend: Any,
        start: F64,
        alpha: F64,
        stored: F64,
        setting: Mapping[str, Any],
        mix: F64 | None = None,
    ) -> tuple[_Run, F64]:
        """Fit one setting: its kept run, and the ELBO of each restart after the burn-in.

        ``mix``: a known class mix (fixed prior) instead of the Dirichlet ``alpha``.
        """
        k, n = ann.n_classes, ann.n_items
        m = int(setting["n_subtypes"])
        base = np.full((k, k), float(setting["off_prior"]))
        np.fill_diagonal(base, float(setting["diag_prior"]))
        # Prior pseudo-counts in the kernels' (w, label, state) layout; state s = t * m + sub.
        beta = np.repeat(base.T, m, axis=1)  # (label, state), shared by every worker
        pooled = setting["pooled_prior"]
        if pooled is not None:  # diag and off give the starting mean; the total is pooled's
            beta *= float(pooled) / beta.sum(axis=0, keepdims=True)
        stored_s = np.repeat(stored, m, axis=2)
        start_prior: _Prior = (beta, stored_s, pooled)
        eta0 = np.full((k, m), float(setting["subtype_prior"]) / m)
        restarts = 1 if m == 1 else int(self.n_restarts)
        # Every setting draws from the same seed: its result does not depend on the others.
        # Restarts run a burn-in each; only the one with the best ELBO then runs on to convergence
        # (restarts that part ways rarely cross later, and the others' cost is saved).
        max_iter = int(self.max_iter)
        burn = min(_BURN_IN, max_iter) if restarts > 1 else max_iter
        runs = []
        for child in np.random.SeedSequence(int(self.seed)).spawn(restarts):
            rng = np.random.default_rng(child)
            split = rng.dirichlet(np.ones(m), size=(n, k)) if m > 1 else np.ones((n, k, 1))
            q0 = np.ascontiguousarray((split * start[:, :, None]).reshape(n, k * m))
            runs.append(self._run(ann, backend, q0, start_prior, alpha, eta0, burn, mix))
        elbos = np.asarray([r[0] for r in runs])
        kept = runs[int(np.argmax(elbos))]
        runs.clear()  # the other restarts' posteriors can go before the long part
        if not kept[5] and max_iter > burn:
            more = self._run(ann, backend, kept[1], kept[6], alpha, eta0, max_iter - burn, mix)
            kept = (*more[:4], kept[4] + more[4], *more[5:])
        return kept, elbos

    def _run(
        self,
        ann: Annotations,
        backend: Any,
        q: F64,
        start_prior: _Prior,
        alpha: F64,
        eta0: F64,
        max_iter: int,
        mix: F64 | None = None,
    ) -> _Run:
        """Mean-field iterations from state posteriors ``q`` (its buffer is reused).

        ``start_prior``: the shared confusion pseudo-counts ``beta`` (label, state), the warm
        start's counts per worker (w, label, state), and the pooled strength (None: ``beta`` is
        fixed; a number: its mean is refitted to the crowd every iteration).
        Returns the last ELBO, ``q``, the confusion and subtype Dirichlet parameters, the ELBO
        after every iteration, whether ``tol`` was met, and the final confusion prior.
        """
        k, m = eta0.shape
        w, s = ann.n_workers, k * m
        by_item = ann.sorted_by_item()
        by_answer = by_item[:3]
        counts = np.empty((w, k, s))  # soft counts, (worker, label, state) as the kernels want
        mu = np.empty((w, k, s))
        elog_buf = np.empty((w, k, s))  # E[log pi] of the confusion rows, rewritten every iteration
        scratch = np.empty((w, k, s))
        lls: list[float] = []
        converged = False
        eta = np.empty(0)
        beta, stored, pooled = start_prior
        beta = beta.copy()
        prior = beta[None] + stored
        # Every Dirichlet of the fit runs on its backend (digamma and gammaln: the numba kernel or
        # scipy); the confusion ones reuse the (w, K, S) buffers.
        log_beta_prior = dirichlet_stats(prior, 1, backend, work=scratch)[1]  # KL(mu || prior)
        shared = not stored.any()  # no warm start: every worker's prior is beta
        elog_mu: F64 | None = None
        log_mix: F64 = np.log(mix / mix.sum()) if mix is not None else np.empty(0)
        # Convergence is judged on the (class, subtype) state posteriors, not on the class
        # marginals: EBCC can sit for tens of iterations on a plateau where the classes barely
        # move while the subtypes regroup, and stopping there cost up to 9 points (zencrowd_us).
        other = np.empty_like(q)  # each E-step writes here and measures its change from q
        totals = column_sums(q)
        for _ in range(int(max_iter)):
            raise_if_cancelled()  # another setting failed, or Ctrl-C: stop here
            if pooled is not None and elog_mu is not None:
                # Empirical Bayes: refit the prior's mean to the workers' current confusion
                # posteriors, the ones the last E-step used (one more coordinate-ascent step).
                beta = pooled_mean(beta, elog_mu.mean(axis=0), pooled)
                np.add(beta[None], stored, out=prior)
                if shared:
                    log_beta_prior = w * dirichlet_stats(beta, 0, backend)[1]
                else:  # mu is refilled below: until then a free buffer for E[log p]
                    log_beta_prior = dirichlet_stats(prior, 1, backend, out=mu, work=scratch)[1]
            m_step_counts(backend, *by_answer, q, counts)
            np.add(counts, prior, out=mu)
            class_sub = totals.reshape(k, m)
            eta = eta0 + class_sub
            elog_eta, _ = dirichlet_stats(eta, 1, backend)
            if mix is None:
                nu = alpha + class_sub.sum(axis=1)
                elog_nu, _ = dirichlet_stats(nu, 0, backend)
                kl_nu = kl_dirichlet(nu, alpha, 0, backend)
            else:  # a known class mix: log pi is fixed and pi has no KL term
                elog_nu, kl_nu = log_mix, 0.0
            log_prior = elog_eta + elog_nu[:, None]
            elog_mu, log_beta_mu = dirichlet_stats(mu, 1, backend, out=elog_buf, work=scratch)
            log_z, moved = e_step_tracked(
                backend, *by_item, elog_mu, log_prior.reshape(s), other, q, totals
            )
            q, other = other, q
            kl_mu = (
                log_beta_prior
                - log_beta_mu
                + float(np.multiply(counts, elog_mu, out=scratch).sum())
            )
            elbo = log_z - kl_mu - kl_dirichlet(eta, eta0, 1, backend) - kl_nu
            lls.append(elbo)
            if moved <= self.tol:
                converged = True
                break
        # Parameters consistent with the final posteriors.
        m_step_counts(backend, *by_answer, q, counts)
        np.add(counts, prior, out=mu)
        eta = eta0 + totals.reshape(k, m)
        return lls[-1], q, mu, eta, lls, converged, (beta, stored, pooled)


def describe_setting(params: Mapping[str, Any]) -> str:
    """Name a setting briefly, e.g. ``"IBCC, pooled prior 10"`` (for messages and reports).

    Examples
    --------
    >>> describe_setting({"n_subtypes": 3, "diag_prior": 4.0, "off_prior": 1.0,
    ...                   "subtype_prior": 0.1, "pooled_prior": None})
    'EBCC, 3 subtypes, prior 4-1'
    """
    m = int(params["n_subtypes"])
    model = "IBCC" if m == 1 else f"EBCC, {m} subtypes"
    if params.get("pooled_prior") is not None:
        return f"{model}, pooled prior {float(params['pooled_prior']):g}"
    return f"{model}, prior {float(params['diag_prior']):g}-{float(params['off_prior']):g}"


def _pooling_penalty(setting: Mapping[str, Any], k: int, n_workers: int) -> float:
    """BIC's price of the prior means a pooled setting fits: ``d / 2 * log(workers)``.

    A pooled setting chooses ``d = K * M * (K - 1)`` free prior means by maximising its own
    bound (type-II maximum likelihood), so its ELBO is optimistic next to the fixed-prior
    settings'. The workers are the observations those means are fitted to (Schwarz 1978).
    """
    if setting["pooled_prior"] is None:
        return 0.0
    d = k * int(setting["n_subtypes"]) * (k - 1)
    return 0.5 * d * float(np.log(max(n_workers, 1)))


_CLASS_PRIOR_ALLOWED = (
    "'majority', a positive number, or the known class mix (a mapping class -> weight, or K "
    "weights in class order)"
)


def _known_mix(prior: Any, classes: NDArray[Any]) -> F64 | None:
    """Return a known class mix as K positive weights in class order (None for a Dirichlet)."""
    if isinstance(prior, str | numbers.Real):
        return None
    names = classes.tolist()
    if hasattr(prior, "to_dict") and hasattr(prior, "index"):
        prior = prior.to_dict()  # a pandas Series: by its index (class names), not by position
    if isinstance(prior, Mapping):
        missing = [c for c in names if c not in prior]
        extra = [c for c in prior if c not in names]
        if missing or extra:
            raise InvalidParameterError(
                "class_prior",
                dict(prior),
                f"a weight for each class {names} and no other "
                f"(missing {missing}, unknown {extra})",
            )
        values = [prior[c] for c in names]
    else:
        values = list(prior)
        if len(values) != len(names):
            raise InvalidParameterError(
                "class_prior", values, f"{len(names)} weights, one per class {names}"
            )
    try:
        mix = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError("class_prior", values, "numeric weights") from exc
    if mix.ndim != 1 or not np.all(np.isfinite(mix)) or np.any(mix <= 0):
        raise InvalidParameterError(
            "class_prior", values, f"a positive finite weight for each class {names}"
        )
    out: F64 = mix / mix.sum()
    return out


def _check_setting(setting: Mapping[str, Any]) -> None:
    check_count("n_subtypes", setting["n_subtypes"], 1, 64)
    for name in ("diag_prior", "off_prior", "subtype_prior"):
        check_real(name, setting[name], 0.0, 1e12, low_open=True)
    if setting["pooled_prior"] is not None:
        check_real("pooled_prior", setting["pooled_prior"], POOLED_MIN, 1e12)


def default_estimator() -> BayesianDawidSkene:
    """Return a fresh, unfitted instance of the recommended consolidator.

    Currently :class:`BayesianDawidSkene` that fits four settings and keeps the one with the
    highest evidence lower bound (a pooled setting pays BIC's price for its fitted prior):

    - EBCC: 3 subtypes per class, 3 restarts, confusion prior 4 on the diagonal and 1 elsewhere;
    - IBCC (no subtypes) with the same prior;
    - IBCC with a weak prior (1 on the diagonal, 0.1 elsewhere) that lets data speak sooner;
    - IBCC with a pooled prior (10 pseudo-counts per row, its mean learned from the crowd).

    EBCC wins where workers err together (ZenCrowd, CrowdScale); IBCC wins where errors are
    independent and the extra subtypes only add noise; the pooled prior wins where many workers
    answer little and share their habits (graded relevance, Zhou's web search: 0.77 -> 0.84).
    Seed 0: results are deterministic. ``n_jobs=-1``: the settings are fitted in parallel
    threads, one per available CPU (at most four), with the same results as one after the other
    (``set_params(n_jobs=1)``). The choice may change as research improves it;
    :class:`~consolidation.ModifiedDawidSkene` stays faithful to AWS.

    Examples
    --------
    >>> est = default_estimator()
    >>> est.fit([("a", "w1", 1), ("a", "w2", 1), ("b", "w1", 0), ("b", "w2", 0)]).labels_.tolist()
    [1, 0]
    >>> est.setting_elbos_.shape
    (4,)
    """
    return BayesianDawidSkene(
        n_subtypes=3,
        n_restarts=3,
        diag_prior=4.0,
        off_prior=1.0,
        alternatives=(
            {"n_subtypes": 1},
            {"n_subtypes": 1, "diag_prior": 1.0, "off_prior": 0.1},
            {"n_subtypes": 1, "pooled_prior": 10.0},
        ),
        seed=0,
        n_jobs=-1,
    )
