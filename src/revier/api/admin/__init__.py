"""The organisation's admin HTTP API (``/_revier/admin/v1``), admins only."""
