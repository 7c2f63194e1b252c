"""k-means clusters of the members on their payment behaviour (SPEC §7.3; the deck's «Кластеризация по k-средним на
основе платежного поведения»): the per-cluster table and a 2-D picture of them.

Features (definitions in data/features.py), one row per member with a purchase by the as-of date:
- log1p of deals, revenue, mean receipt, mean days between purchases (0 for one-off buyers) and days since the
  last purchase — skewed counts and money made closer to normal — then standardised (zero mean, unit variance);
- the member's shares of line revenue by top-level product group: the CATEGORY_COLUMNS groups with the most
  revenue in the base, the rest as one column. Shares stay as they are: they already share one 0…1 scale, and
  standardising would stretch a group few members buy until it outweighs the behaviour.

Fitting: k-means (k-means++, N_INIT starts, random_state SEED) for every k of the range, fitted on a fixed random
sample of at most FIT_SAMPLE members (the whole base when it is smaller); every member then goes to the nearest
centre, so a base of millions costs one sample fit and one assignment per k. The chosen k has the highest
silhouette score, measured on a fixed random sample of at most SILHOUETTE_SAMPLE members (the same for every k;
a tie goes to the smaller k); a k that finds fewer distinct clusters than k (too few distinct members) gets no
score. Clusters are numbered by average LTV, highest first (then the larger first), so the same data always gives
the same numbers.
"""

import warnings
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
from django.utils.translation import gettext_lazy as _
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from kopilka.analytics.data.features import Behaviour, behaviour
from kopilka.analytics.presentation.charts import scatter_svg
from kopilka.analytics.presentation.tables import COUNT, MONEY, NUMBER, SHARE, Column, Table
from kopilka.core.errors import ValidationFailed

SEED = 0
N_INIT = 10
FIT_SAMPLE = 50_000
SILHOUETTE_SAMPLE = 10_000
PICTURE_POINTS = 2_000
CATEGORY_COLUMNS = 8
TOP_CATEGORIES = 3
MIN_MEMBERS = 10  # below this k-means finds nothing worth a table
KOPECK = Decimal("0.01")


class CannotCluster(ValidationFailed, ValueError):
    code = "cannot_cluster"
    default_message = _("The members cannot be clustered.")


@dataclass(frozen=True)
class Cluster:
    number: int
    members: int
    member_share: float  # of the members clustered
    average_ltv: Decimal  # revenue to date per member, roubles
    average_deals: float
    average_days_between: float | None  # over the cluster's repeat buyers; None when it has none
    top_categories: list[str]  # top-level product groups with the most revenue in the cluster, at most 3
    turnover_share: float  # the cluster's part of the members' revenue


@dataclass(frozen=True)
class Picture:
    """Members projected on the first two principal components of the features, with the clusters' centres."""

    x: np.ndarray
    y: np.ndarray
    cluster: np.ndarray  # the cluster number of each point
    centres: np.ndarray  # k × 2, row i for cluster i + 1
    shares: list[float]  # member share of each cluster, in cluster number order

    def svg(self) -> str:
        legend = [_("Cluster %(number)d: %(share)s %% of members") % {"number": n, "share": f"{s * 100:.1f}"}
                  for n, s in enumerate(self.shares, start=1)]
        return scatter_svg(list(zip(self.x.tolist(), self.y.tolist(), strict=True)), (self.cluster - 1).tolist(),
                           legend=legend, centres=[tuple(c) for c in self.centres.tolist()],
                           x_title=_("Component 1"), y_title=_("Component 2"),
                           title=_("Clusters of members by payment behaviour"))


@dataclass(frozen=True)
class Clustering:
    as_of: date
    k: int
    silhouettes: dict[int, float | None]  # every k tried; None: no clustering with k distinct clusters
    member_id: np.ndarray
    cluster: np.ndarray  # the cluster number (1..k) of each member
    clusters: list[Cluster]  # in number order
    features: np.ndarray  # the matrix k-means ran on, one row per member
    fit_rows: np.ndarray  # the rows the models were fitted on

    def table(self) -> Table:
        columns = [Column("cluster", _("cluster")), Column("members", _("members"), kind=COUNT),
                   Column("member_share", _("share of members"), kind=SHARE),
                   Column("average_ltv", _("average LTV"), kind=MONEY),
                   Column("average_deals", _("average number of deals"), kind=NUMBER),
                   Column("average_days_between", _("average days between purchases"), kind=NUMBER),
                   Column("top_categories", _("top categories")),
                   Column("turnover_share", _("share of turnover"), kind=SHARE)]
        rows = [[c.number, c.members, c.member_share, c.average_ltv, c.average_deals, c.average_days_between,
                 ", ".join(c.top_categories), c.turnover_share] for c in self.clusters]
        return Table("clusters", _("Clusters by payment behaviour"), columns, rows)

    def silhouette_table(self) -> Table:
        columns = [Column("k", _("number of clusters")), Column("silhouette", _("silhouette score")),
                   Column("chosen", _("chosen"))]
        rows = [[k, None if s is None else round(s, 6), k == self.k] for k, s in self.silhouettes.items()]
        return Table("cluster-silhouettes", _("Silhouette score by number of clusters"), columns, rows)

    def picture(self, points: int = PICTURE_POINTS) -> Picture:
        """A fixed random sample of at most `points` members and every cluster's centre (the mean of all its
        members), on the principal components fitted on the same rows as the clusters."""
        pca = PCA(n_components=2, random_state=SEED).fit(self.features[self.fit_rows])
        projected = pca.transform(self.features)
        members = _membership(self.cluster - 1, self.k)
        centres = (members @ projected) / np.asarray(members.sum(axis=1))
        rows = _sample(len(self.member_id), points, SEED + 2)
        return Picture(x=projected[rows, 0], y=projected[rows, 1], cluster=self.cluster[rows], centres=centres,
                       shares=[c.member_share for c in self.clusters])


def feature_matrix(data: Behaviour) -> np.ndarray:
    """The standardised behaviour columns, then the category share columns (see the module's docstring)."""
    raw = np.column_stack([data.deals, data.revenue / 100, data.mean_receipt / 100, data.mean_gap, data.since_last])
    scaled = StandardScaler().fit_transform(np.log1p(raw.astype(float)))
    return np.hstack([scaled, _category_columns(data)])


def _category_columns(data: Behaviour) -> np.ndarray:
    shares = data.shares()
    totals = np.asarray(data.spent.sum(axis=0)).ravel()
    order = np.lexsort((np.array(data.category_ids), -totals))  # most revenue first, then group id
    if len(order) <= CATEGORY_COLUMNS:
        return shares[:, order].toarray()
    kept = shares[:, order[:CATEGORY_COLUMNS]].toarray()
    rest = np.asarray(shares[:, order[CATEGORY_COLUMNS:]].sum(axis=1))
    return np.hstack([kept, rest])


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    """All rows when there are at most `size`, else `size` rows drawn with the seed, in row order."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _membership(labels: np.ndarray, k: int) -> sparse.csr_matrix:
    """k × members, 1 where the member (column) is in the cluster (row): a product with it sums by cluster."""
    n = len(labels)
    return sparse.csr_matrix((np.ones(n, dtype=np.int64), (labels, np.arange(n))), shape=(k, n))


def _fit(features: np.ndarray, fit_rows: np.ndarray, k: int) -> np.ndarray | None:
    """Labels 0..k-1 of all members, or None when k-means cannot form k distinct clusters."""
    if k >= len(fit_rows):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fewer distinct points than k: refused below
        model = KMeans(n_clusters=k, n_init=N_INIT, random_state=SEED).fit(features[fit_rows])
    labels = model.predict(features)
    return labels if np.unique(labels).size == k else None


def _silhouette(features: np.ndarray, labels: np.ndarray) -> float | None:
    found = np.unique(labels).size
    if not 2 <= found <= len(labels) - 1:
        return None
    return float(silhouette_score(features, labels))


def _numbers(data: Behaviour, features: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """The cluster number (1..k) of each label: by average LTV, highest first, then by size, then by centre."""
    members = _membership(labels, k)
    sizes = np.asarray(members.sum(axis=1)).ravel()
    revenue = members @ data.revenue
    centres = (members @ features) / sizes[:, None]
    rank = sorted(range(k), key=lambda j: (-Fraction(int(revenue[j]), int(sizes[j])), -int(sizes[j]),
                                           tuple(centres[j].round(9))))
    numbers = np.empty(k, dtype=np.int64)
    numbers[rank] = np.arange(1, k + 1)
    return numbers


def _clusters(data: Behaviour, number: np.ndarray, k: int) -> list[Cluster]:
    members = _membership(number - 1, k)
    sizes = np.asarray(members.sum(axis=1)).ravel()
    revenue = members @ data.revenue
    deals = members @ data.deals
    repeat = members @ data.repeat.astype(np.int64)
    gaps = members @ np.where(data.repeat, data.mean_gap, 0.0)
    by_category = (members @ data.spent).toarray()
    total = int(data.revenue.sum())
    result = []
    for j in range(k):
        spent = by_category[j]
        top = sorted((i for i in range(len(spent)) if spent[i] > 0), key=lambda i: (-spent[i], data.category_names[i]))
        result.append(Cluster(
            number=j + 1, members=int(sizes[j]), member_share=int(sizes[j]) / len(data),
            average_ltv=(Decimal(int(revenue[j])) / (100 * int(sizes[j]))).quantize(KOPECK, ROUND_HALF_UP),
            average_deals=round(int(deals[j]) / int(sizes[j]), 2),
            average_days_between=round(float(gaps[j]) / int(repeat[j]), 1) if repeat[j] else None,
            top_categories=[data.category_names[i] for i in top[:TOP_CATEGORIES]],
            turnover_share=int(revenue[j]) / total if total else 0.0,
        ))
    return result


def _check_range(k_min: int, k_max: int) -> None:
    if not 2 <= k_min <= k_max:
        raise CannotCluster(_("The number of clusters must be at least 2, and the range must not end before it "
                              "starts (from %(k_min)d to %(k_max)d).") % {"k_min": k_min, "k_max": k_max},
                            code="cluster_range_invalid", details={"k_min": k_min, "k_max": k_max})


def cluster(as_of: date, k_min: int = 2, k_max: int = 8) -> Clustering:
    """Clusters the members with a purchase by the end of `as_of` with the k of k_min..k_max the silhouette
    prefers; CannotCluster (a ValueError) when the range is wrong, the members are too few or too alike."""
    _check_range(k_min, k_max)
    data = behaviour(as_of)
    needed = max(MIN_MEMBERS, k_min + 1)
    if len(data) < needed:
        raise CannotCluster(
            _("Clusters need at least %(needed)d members with purchases by %(date)s; there are %(found)d.")
            % {"needed": needed, "date": as_of.isoformat(), "found": len(data)},
            code="too_few_members_to_cluster", details={"needed": needed, "found": len(data)})
    features = feature_matrix(data)
    fit_rows = _sample(len(data), FIT_SAMPLE, SEED)
    score_rows = _sample(len(data), SILHOUETTE_SAMPLE, SEED + 1)
    silhouettes: dict[int, float | None] = {}
    best: tuple[float, int, np.ndarray] | None = None
    for k in range(k_min, k_max + 1):
        labels = _fit(features, fit_rows, k)
        score = None if labels is None else _silhouette(features[score_rows], labels[score_rows])
        silhouettes[k] = score
        if score is not None and (best is None or score > best[0]):
            best = (score, k, labels)
    if best is None:
        raise CannotCluster(_("The members' behaviour is too alike to form %(k_min)d or more clusters.")
                            % {"k_min": k_min}, code="members_too_alike_to_cluster", details={"k_min": k_min})
    k, labels = best[1], best[2]
    number = _numbers(data, features, labels, k)[labels]
    return Clustering(as_of=as_of, k=k, silhouettes=silhouettes, member_id=data.member_id, cluster=number,
                      clusters=_clusters(data, number, k), features=features, fit_rows=fit_rows)
