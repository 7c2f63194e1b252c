"""Kopilka: an on-premise points-based loyalty platform."""

__version__ = "0.1.0"
