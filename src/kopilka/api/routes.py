"""Mounts every app's router on the one API instance."""

from kopilka.api.analytics import router as analytics_router
from kopilka.api.base import api
from kopilka.api.campaigns import router as campaigns_router
from kopilka.api.catalog import router as catalog_router
from kopilka.api.communications import router as communications_router
from kopilka.api.events import router as events_router
from kopilka.api.ledger import router as ledger_router
from kopilka.api.members import router as members_router
from kopilka.api.programme import router as programme_router
from kopilka.api.purchases import router as purchases_router
from kopilka.api.reference import router as reference_router
from kopilka.api.tiers import router as tiers_router

api.add_router("/members", members_router)
api.add_router("/ledger", ledger_router)
api.add_router("/catalog", catalog_router)
api.add_router("/campaigns", campaigns_router)
api.add_router("/purchases", purchases_router)
api.add_router("/events", events_router)
api.add_router("/tiers", tiers_router)
api.add_router("/analytics", analytics_router)
api.add_router("/reference", reference_router)
api.add_router("/programme", programme_router)
api.add_router("/communications", communications_router)

__all__ = ["api"]
