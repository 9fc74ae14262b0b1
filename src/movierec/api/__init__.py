"""The HTTP service (FastAPI): thin handlers over :class:`movierec.engine.core.Engine`.

``create_app`` builds the application from injected :class:`Settings` (and, in tests, an
injected engine), so nothing is read from the environment at import time.
"""

from movierec.api.app import create_app
from movierec.api.settings import Settings

__all__ = ["Settings", "create_app"]
