"""A tiny inventory package for trying codeflow."""
