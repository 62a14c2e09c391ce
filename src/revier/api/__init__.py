"""HTTP only: parse, authenticate, call one service method, shape the reply."""
