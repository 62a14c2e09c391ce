"""Link previews: the address deny-list and the OpenGraph parsing."""

from __future__ import annotations

import pytest

from revier.policy.url_preview import is_public_address, parse_open_graph


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "fe80::1%eth0",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "not an address",
    ],
)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "1.1.1.1"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(address)


def test_open_graph_tags_and_title_fallback() -> None:
    page = """<html><head><title>Fallback</title>
    <meta property="og:title" content="Lage &amp; Einsatz">
    <meta content='Beschreibung' property='og:description'>
    <meta property="og:image" content="/bild.png"><meta name="other" content="x">
    </head></html>"""
    assert parse_open_graph(page) == {
        "og:title": "Lage & Einsatz",
        "og:description": "Beschreibung",
        "og:image": "/bild.png",
    }
    assert parse_open_graph("<title> Nur Titel </title>") == {"og:title": "Nur Titel"}
