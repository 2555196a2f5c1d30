"""GBC Blackjack backend: the shared package every Lambda function imports from the common layer."""

__version__ = "0.1.0"
