"""Hooks: every AWS call the package makes."""
