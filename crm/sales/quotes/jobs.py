"""Scheduled jobs of the sales context (registered by `create_app`; the job runner owns the transaction)."""

from __future__ import annotations

from crm.sales.quotes import services as quote_services


def expire_quotes() -> int:
    """Drafts and approved quotes past their validity date become expired."""
    return quote_services.expire_quotes()
