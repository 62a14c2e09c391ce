"""Which client (name and version) a User-Agent names, and whether the tenant lets it in.

What the Element apps send (Element X Android's is checked in its source,
``DefaultUserAgentProvider``; the others follow the same app/version (platform) form):

- Element X: ``Element X/1.5.0 (Xiaomi Mi 9T; Android 11; RKQ1.200826.002; Sdk c344b155c)``
  or ``Element X/25.03.1 (iPhone; iOS 18.3; Scale/3.00)``;
- Element Android: ``Element/1.6.20 (Google Pixel 7; Android 14; UP1A; Flavour GooglePlay;
  MatrixAndroidSdk2 1.6.20)``; Element iOS: ``Element/1.11.20 (iPhone; iOS 17.4; Scale/3.00)``;
- Element Desktop (Electron adds the app to the browser's string):
  ``Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)
  Element/1.11.85 Chrome/128.0.6613.186 Electron/32.2.6 Safari/537.36``;
- Element Web: the browser's string alone, which names no app — it can't be told apart
  from any other web page, so it is never refused (nor counted).

So the name is the first product token that is not a browser part, made precise
for Element by the platform ("Element Android", "Element iOS", "Element Desktop";
Element X by "Element X Android" / "Element X iOS"). A minimum is looked up by that
name, then by its family ("Element X"; "Element" for Element Desktop), so an
operator may write either. Only name and version are kept, never the rest (device
model, OS build: personal data that the listing of versions doesn't need).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from revier.config_org import parse_version

MAX_NAME = 64
MAX_VERSION = 32
# name/version, where a name may hold spaces ("Element X"): a run of words ending in "/".
_PRODUCT = re.compile(
    r"([A-Za-z][A-Za-z0-9._-]*(?: [A-Za-z][A-Za-z0-9._-]*)*)/(\d[A-Za-z0-9._+-]*)"
)
# Parts of a browser's (or an HTTP library's engine's) string, never the app itself.
_BROWSER_PARTS = frozenset(
    {"Mozilla", "AppleWebKit", "Chrome", "Safari", "Gecko", "Firefox", "Version",
     "Mobile", "Electron", "Edg", "OPR", "KHTML", "CriOS", "FxiOS"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ClientVersion:
    name: str
    version: str

    @property
    def names(self) -> tuple[str, ...]:
        """Its name, then its family's (what a minimum may be configured under)."""
        if self.name.startswith("Element X "):
            return (self.name, "Element X")
        if self.name == "Element Desktop":
            return (self.name, "Element")
        return (self.name,)


@lru_cache(maxsize=4096)
def parse_user_agent(user_agent: str | None) -> ClientVersion | None:
    """The client a User-Agent names; None when it names none (a browser, nothing)."""
    if not user_agent:
        return None
    text = user_agent[:512]
    for match in _PRODUCT.finditer(text):
        name, version = match.group(1), match.group(2)
        # "(KHTML, like Gecko) Element/1.11" gives "like Gecko" before: only the last word counts.
        last = name.rsplit(" ", 1)[-1]
        if name.split(" ", 1)[0] in _BROWSER_PARTS or last in _BROWSER_PARTS:
            name = last
            if name in _BROWSER_PARTS:
                continue
        comment = text[match.end() :]
        return ClientVersion(_precise(name, comment)[:MAX_NAME], version[:MAX_VERSION])
    return None


def _precise(name: str, rest: str) -> str:
    """Element's apps share a product name; the platform tells them apart."""
    if name not in ("Element", "Element X"):
        return name
    head = rest.split(")", 1)[0]
    if "Android" in head:
        return f"{name} Android"
    if any(word in head for word in ("iOS", "iPhone", "iPad")):
        return f"{name} iOS"
    if name == "Element" and "Electron/" in rest:
        return "Element Desktop"
    return name


def required_version(client: ClientVersion | None, minimums: Mapping[str, str]) -> str | None:
    """The version the tenant requires of this client, when it is older; else None.

    A client named by no minimum (or no client at all) passes; a version that
    doesn't start with a number can't be compared and passes too (the listing
    shows it to the admins).
    """
    if client is None or not minimums:
        return None
    needed = next((minimums[n] for n in client.names if n in minimums), None)
    if needed is None:
        return None
    have, want = parse_version(client.version), parse_version(needed)
    if have is None or want is None:
        return None
    width = max(len(have), len(want))
    if have + (0,) * (width - len(have)) < want + (0,) * (width - len(want)):
        return needed
    return None
