"""The game of blackjack as a service: games stored, played and verified through the pure engine (gbc.blackjack)."""
