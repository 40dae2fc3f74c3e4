"""Tests that run the real ``computeadvisor`` command as a subprocess."""
