"""The static web page served by the API: plain HTML, CSS and JavaScript, no build step."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Folder the API mounts at ``/static``; ``index.html`` is the page served at ``/``."""
