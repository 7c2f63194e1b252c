"""The catalogue (SPEC §4.1): products (SKU, price, partner flag) in a tree of product groups — the vocabulary
campaign rules speak — with all-or-nothing upserts and the xlsx template, export and import.

Owns: ProductGroup, Product.
May import: core, customers. Imported by: orders and every app above it that names products.
Keeps true: a group's `path` lists its ancestors, so a subtree is a prefix and the tree has no cycles; prices
are Decimal roubles with kopecks, never negative; an upsert or import changes everything asked or nothing.
"""
