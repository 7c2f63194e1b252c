"""Analytics (SPEC §7): the programme's figures for analysts and marketers, computed in the background and
kept as snapshots, never in the purchase path.

Owns the snapshots (`models.Snapshot`) and nothing else: it reads members, orders, the ledger, campaigns,
tiers and the catalogue through set-based SQL and their models, and writes only its own results.
May import: core, customers, catalog, orders, ledger, tiers, campaigns. Imported by: api, backoffice, runtime.
Keeps true: figures come from set-based SQL folded in numpy, never a Python loop over the rows of a big
table; money is exact (kopecks) until it is shown; results are kept in English and translated when shown.

Sub-packages, by what they are; each imports only those listed before it:
- `data/`          reading the database: the scope of a question (period, member filters, counted orders),
                   per-member purchase facts, payment-behaviour features, reads run side by side (`together`);
- `presentation/`  the shape of a result and its drawings: tables and their CSV / JSON / XLSX writers, SVG
                   charts (pure: imports no other part of the analytics);
- `measures/`      the figures of a scope: KPIs, cuts, the RFM summary and scoring, ABC, cohorts, growth
                   levers, k-means clusters, the one-pass overview; what an offer changed against a control
                   group (`incrementality`: uplift, intervals, sample sizes, A/B variants);
- `lifetime/`      lifetime value: the BG/NBD and Gamma-Gamma models fitted by maximum likelihood, and CLV;
- `snapshots/`     computing in the background: the parameters of each kind (forms), what each kind
                   computes (the table `producers.PRODUCERS`), a snapshot's life (request, compute, the
                   standard set) and the nightly task;
- `reports/`       the `kopilka analytics REPORT` command's reports and their shared arguments.
"""
