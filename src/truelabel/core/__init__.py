"""The facade the adapters call: :class:`Workspace` (users, projects) and :class:`Project`."""

from .project import Project
from .workspace import Workspace

__all__ = ["Project", "Workspace"]
