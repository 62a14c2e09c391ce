"""Client-server API, one module per spec module."""
