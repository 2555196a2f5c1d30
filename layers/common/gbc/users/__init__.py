"""Users: profiles and settings."""
