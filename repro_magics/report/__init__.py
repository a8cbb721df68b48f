"""Renderers of verification results: text and JSON, Markdown, HTML, and the paths they are written to."""
