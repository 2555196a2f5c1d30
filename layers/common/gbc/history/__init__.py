"""A user's game history and stats."""
