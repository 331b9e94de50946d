"""Compatibility layers for libraries that do not import on today's stack as published."""
