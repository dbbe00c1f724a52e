"""How partners reach the bus: HTTP API, CRM inbound, outbound webhooks/SSE, interop mappers."""
