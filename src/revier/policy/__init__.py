"""Organisation governance as pure functions: services fetch facts, policy decides."""
