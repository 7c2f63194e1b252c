"""Purchases: orders (receipts) with lines."""
