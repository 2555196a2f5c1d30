"""Precomputed user stats (system_config `user_stats:{userId}`)."""
