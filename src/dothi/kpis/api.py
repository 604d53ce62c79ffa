"""The KPI API under /api/v1/kpis/."""

from ninja import Router

router = Router(tags=["kpis"])
