"""Run the server with uvicorn."""

from __future__ import annotations

import uvicorn

from truelabel.core import Workspace

from .app import create_app


def serve(
    workspace: Workspace, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning"
) -> None:
    """Serve the workspace until interrupted. Refuses to start without a secret key."""
    _ = workspace.secret_key  # raises ProjectError if missing
    uvicorn.run(
        create_app(workspace),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
