"""Blackjack: the pure rules engine (no I/O), the provably fair shoe and basic strategy."""
