"""Reading the database for the analytics: what a question is about (`scope`), per-member purchase facts
(`facts`), payment-behaviour features (`features`), and independent reads run side by side (`together`).

Set-based SQL whose rows are folded in numpy; counted orders are those the KPIs count (paid, shipped,
completed); days are programme days. Imports no other part of the analytics.
"""
