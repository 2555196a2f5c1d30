"""What the API handlers share: request schemas, the error-to-HTTP mapping and the caller's identity."""
