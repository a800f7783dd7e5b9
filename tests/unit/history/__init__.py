"""Tests of context.history."""
