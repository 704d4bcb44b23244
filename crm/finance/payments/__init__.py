"""Collections and refunds of orders: models, the recording and verification services, the operators
of `collection_verification` and the refund step of `order_pipeline`, their pages and API."""
