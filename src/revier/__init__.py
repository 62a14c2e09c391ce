"""revier: a Matrix homeserver for organisations."""

__version__ = "0.2.0.dev0"
