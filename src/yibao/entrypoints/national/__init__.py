"""The national medical insurance platform\x27s institution interface (one JSON protocol)."""
