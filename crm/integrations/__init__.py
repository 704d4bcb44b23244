"""Integrations: what the CRM tells other systems (webhooks/)."""
