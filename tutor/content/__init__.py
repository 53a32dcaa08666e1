"""Lessons and exercises: plain Markdown and TOML, loaded into typed models."""
