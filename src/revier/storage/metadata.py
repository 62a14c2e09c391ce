"""The one SQLAlchemy ``MetaData`` every wing's tables register in."""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
