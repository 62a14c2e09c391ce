"""revier's benchmark suite: revier against the reference server, side by side."""
