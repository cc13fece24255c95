"""Local stand-ins for remote services, so tests run offline."""
