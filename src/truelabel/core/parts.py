"""What the mixins of :class:`~truelabel.core.project.Project` rely on.

``Project`` is assembled from one class per concern: ``TaskMixin`` (the annotators' loop),
``QualityMixin`` (workflow, gold), ``ReviewMixin`` (review stages, adjudication) and
``TruthMixin`` (ground truth, sign-off). This base declares the attributes and the methods
they call on each other, so each module type-checks on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from truelabel.domain.models import Credential, User
    from truelabel.domain.results import AnnotationView, ProjectStatus
    from truelabel.domain.roles import Role
    from truelabel.domain.schema import LabelSchema
    from truelabel.domain.workflow import Workflow
    from truelabel.store.db import Database

    from .project import _Ctx
    from .workspace import Workspace


class ProjectParts:
    id: int
    db: Database
    ws: Workspace
    _pool_settings: tuple[str | None] | None
    _submit_versions: tuple[int, int | None] | None
    _schema_cache: dict[int, LabelSchema]

    if TYPE_CHECKING:

        @property
        def name(self) -> str: ...
        def require(self, actor: User | None, permission: str) -> Role: ...
        def role_of(self, actor: User | None) -> Role | None: ...
        def _context(
            self, conn: Any, actor: User | None, permission: str, **extra: Any
        ) -> _Ctx: ...
        def _ctx_from_row(
            self, row: dict[str, Any] | None, actor: User | None, permission: str,
            cred: Credential | None,
        ) -> _Ctx: ...
        def schema(self) -> tuple[int, LabelSchema]: ...
        def _settings(self) -> dict[str, Any]: ...
        def _item_data(self, item_id: int) -> dict[str, Any] | None: ...
        def annotations(
            self, item_id: int, *, current_only: bool = True
        ) -> list[AnnotationView]: ...
        def status(self, *, actor: User | None = None) -> ProjectStatus: ...
        def workflow(self) -> Workflow: ...
        def _wants_gold(
            self, user: User, n_assigned: int, *, rate: float | None = None
        ) -> bool: ...
        def gold_feedback(self, item_id: int, value: dict[str, Any]) -> dict[str, Any] | None: ...
        def after_submit(self, item_id: int) -> None: ...
        def review_comments(
            self, item_id: int, user: User, *, conn: Any = None
        ) -> list[dict[str, Any]]: ...
        def _long_format(self) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]: ...
