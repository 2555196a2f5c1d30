"""The local stack: template.yaml run on one machine without Docker.

PostgreSQL, Redis and SQS (moto server), the API routes served over HTTP by invoking the real handlers
in-process with API Gateway REST proxy events, the SQS event source mappings pumped into the worker,
and the schedules on a timer.
"""
