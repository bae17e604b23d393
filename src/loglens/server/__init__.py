"""The daemon's HTTP face: ingest endpoints for stock shippers, the query API, the live channel."""
