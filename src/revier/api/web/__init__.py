"""Pages for people in a browser (not Matrix clients): the self-service wipe."""
