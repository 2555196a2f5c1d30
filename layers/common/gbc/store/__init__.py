"""The store: cosmetic items bought with the in-game balance."""
