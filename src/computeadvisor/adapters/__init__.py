"""Adapters: one module per technology and port, each translating its library's errors into domain errors."""
