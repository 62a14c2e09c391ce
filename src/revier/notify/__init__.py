"""Wake-ups for waiting /sync requests: in-process by default."""

from revier.notify.local import ClientGone, Hangup, LocalNotifier, Notifier


def create_notifier(redis_url: str | None) -> Notifier:
    if redis_url:
        from revier.notify.redis import RedisNotifier

        return RedisNotifier(redis_url)
    return LocalNotifier()


__all__ = ["ClientGone", "Hangup", "LocalNotifier", "Notifier", "create_notifier"]
