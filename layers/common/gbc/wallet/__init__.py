"""The in-game wallet: chain credits, withdrawals, deposit intents."""
