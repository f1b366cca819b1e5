"""Operator command: see cli.py."""
