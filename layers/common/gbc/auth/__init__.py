"""Authentication: session tokens (JWT) and, later, Sign-In with Ethereum."""
