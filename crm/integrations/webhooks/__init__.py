"""Webhooks: endpoints, their signed deliveries through an outbox, the delivery log."""
