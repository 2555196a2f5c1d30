"""Jobs on SQS: typed payloads, the transactional outbox, and the worker's dispatch."""
