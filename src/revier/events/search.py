"""What server-side search reads of an event, and how a search term becomes words.

Client-server API, "Server Side Search": the searchable keys are ``content.body``
of ``m.room.message``, ``content.name`` of ``m.room.name``, and of
``m.room.topic`` both ``content.topic`` and the ``text/plain`` bodies in
``content["m.topic"]``.

A search term is cut into words (runs of letters and digits) here, never handed
to the database's query language: quotes, ``NEAR(``, ``*``, ``:``, ``&|!`` or a
NUL are separators like a space, so any input is a search for plain words and
none can make the full-text engine fail. Each word of three or more letters
matches as a prefix ("Einsatz" finds "Einsatzleitung"), a shorter one only
itself (a prefix of one letter would make the engine walk a good part of the
index); all words must match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# Event type searched under each of the spec's keys.
SEARCH_KEYS: Mapping[str, str] = {
    "content.body": "m.room.message",
    "content.name": "m.room.name",
    "content.topic": "m.room.topic",
}
SEARCHABLE_TYPES = frozenset(SEARCH_KEYS.values())

# A longer term is refused (M_INVALID_PARAM); more words than this are refused too:
# every word is one more index look-up.
MAX_SEARCH_TERM_LENGTH = 1000
MAX_SEARCH_WORDS = 20
PREFIX_MIN_LENGTH = 3

_WORD = re.compile(r"[^\W_]+")


def searchable_text(event_type: str, content: Mapping[str, Any]) -> str | None:
    """The text an event is found by; None if it has none (the event is not indexed)."""
    parts: list[Any] = []
    if event_type == "m.room.message":
        parts = [content.get("body")]
    elif event_type == "m.room.name":
        parts = [content.get("name")]
    elif event_type == "m.room.topic":
        parts = [content.get("topic"), *_plain_topics(content.get("m.topic"))]
    texts: list[str] = []
    for part in parts:
        # PostgreSQL's text holds no NUL; it separates words anyway.
        text = part.replace("\x00", " ").strip() if isinstance(part, str) else ""
        if text and text not in texts:
            texts.append(text)
    return "\n".join(texts) or None


def _plain_topics(topic: Any) -> Iterable[Any]:
    """The ``text/plain`` bodies of an ``m.topic`` content block (no mimetype: plain)."""
    if not isinstance(topic, dict) or not isinstance(topic.get("m.text"), list):
        return []
    return [
        block.get("body")
        for block in topic["m.text"]
        if isinstance(block, dict) and block.get("mimetype", "text/plain") == "text/plain"
    ]


def search_words(term: str) -> list[str]:
    """The distinct words of a search term, lower-cased, in order."""
    words: list[str] = []
    for word in _WORD.findall(term.lower()):
        if word not in words:
            words.append(word)
    return words


def is_prefix(word: str) -> bool:
    """Does the word match as a prefix (or only itself)?"""
    return len(word) >= PREFIX_MIN_LENGTH


def matched_words(text: str, words: Iterable[str]) -> set[str]:
    """The words of ``text`` that a search for ``words`` matched, lower-cased."""
    wanted = list(words)
    prefixes = tuple(w for w in wanted if is_prefix(w))
    return {
        w
        for w in _WORD.findall(text.lower())
        if w in wanted or (prefixes and w.startswith(prefixes))
    }
