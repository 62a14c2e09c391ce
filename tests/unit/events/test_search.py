"""What server-side search reads of an event, and the words of a search term."""

from __future__ import annotations

import pytest

from revier.events.search import matched_words, search_words, searchable_text


def test_the_spec_keys_of_the_spec_types() -> None:
    assert searchable_text("m.room.message", {"msgtype": "m.text", "body": "Lage 14"}) == "Lage 14"
    assert searchable_text("m.room.name", {"name": "Nord"}) == "Nord"
    assert searchable_text("m.room.topic", {"topic": "Einsatz"}) == "Einsatz"
    # Other types and keys are not searched.
    assert searchable_text("m.room.message", {"formatted_body": "<b>x</b>"}) is None
    assert searchable_text("m.room.encrypted", {"ciphertext": "abc"}) is None
    assert searchable_text("m.reaction", {"body": "x"}) is None


def test_a_topic_counts_its_plain_text_representations() -> None:
    content = {
        "topic": "Lage",
        "m.topic": {
            "m.text": [
                {"body": "Lage"},
                {"mimetype": "text/html", "body": "<i>Lage</i>"},
                {"mimetype": "text/plain", "body": "Funkstille"},
                "not a block",
            ]
        },
    }
    assert searchable_text("m.room.topic", content) == "Lage\nFunkstille"
    assert searchable_text("m.room.topic", {"m.topic": "wrong"}) is None


@pytest.mark.parametrize("body", [5, None, "", "   ", ["x"], {"a": 1}])
def test_no_text_no_row(body: object) -> None:
    assert searchable_text("m.room.message", {"body": body}) is None


def test_nul_becomes_a_separator() -> None:
    assert searchable_text("m.room.message", {"body": "a\x00b"}) == "a b"


@pytest.mark.parametrize(
    ("term", "words"),
    [
        ("Lage Nord", ["lage", "nord"]),
        ('"NEAR(a b"', ["near", "a", "b"]),
        ("col:umn & | ! * ^", ["col", "umn"]),
        ("a\x00b", ["a", "b"]),
        ("snake_case", ["snake", "case"]),
        ("Straße Überfall", ["straße", "überfall"]),
        ("lage LAGE Lage", ["lage"]),
        ("'; DROP TABLE events; --", ["drop", "table", "events"]),
        ("", []),
        ("!!!", []),
    ],
)
def test_search_words_are_letters_and_digits(term: str, words: list[str]) -> None:
    assert search_words(term) == words


def test_matched_words_are_prefix_matches_from_three_letters() -> None:
    text = "Einsatzleitung an Einsatz 12, ab 14 Uhr"
    assert matched_words(text, ["einsatz", "ab"]) == {"einsatzleitung", "einsatz", "ab"}
    # Under three letters only the word itself.
    assert matched_words("Abend ab", ["ab"]) == {"ab"}
