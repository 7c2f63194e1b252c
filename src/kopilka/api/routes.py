"""Mounts every app's router on the one API instance."""

from kopilka.api.base import api
from kopilka.api.ledger import router as ledger_router
from kopilka.api.members import router as members_router

api.add_router("/members", members_router)
api.add_router("/ledger", ledger_router)

__all__ = ["api"]
