"""The runtime: config, ingest, store, incidents, escalation, outbox, the service loop and the CLI."""
