"""revier: a Matrix homeserver for organisations."""

__version__ = "0.1.0"
