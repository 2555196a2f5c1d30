"""Top players by period."""
