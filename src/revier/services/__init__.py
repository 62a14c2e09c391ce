"""The domain: one service per concern, built together in ``container.py``."""
