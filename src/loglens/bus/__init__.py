"""Scale-out transport: ingest nodes publish normalised records to NATS JetStream, process nodes
consume them partition by partition (see docs/scale-out.md)."""
