"""Lambda package: see handler.py."""
