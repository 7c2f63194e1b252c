"""The figures of a scope, each module with its definitions: KPIs, cuts by period and segment, the RFM
summary and its scoring grid, ABC classes, cohort retention, growth levers, k-means clusters, and the KPIs
with the RFM grid in one pass (`overview`). They read through `data` and answer with `presentation.tables`."""
