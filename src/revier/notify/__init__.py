"""Wake-ups for waiting /sync requests: in-process by default."""

from revier.notify.local import LocalNotifier, Notifier

__all__ = ["LocalNotifier", "Notifier"]
