"""The facade the adapters call: :class:`Workspace` (users, projects), :class:`Project`, and
the few operations that stand outside both (answers files without a workspace, backups,
the demo). The CLI and the server import from here only, never from a module of ``core``.
"""

from .answer_source import answers_input
from .answers import (
    AGGREGATION_METHODS,
    DUPLICATES,
    LEVELS,
    METRICS,
    TIES,
    WEIGHTS,
    aggregate_from_file,
    agreement_from_file,
)
from .assets import plugin_asset
from .backup import backup as backup_workspace
from .backup import check as check_workspace
from .backup import restore as restore_workspace
from .claim_order import MAX_PRIORITY
from .credentials import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS
from .demo import create_demo
from .import_report import DEDUP, ON_CONFLICT
from .inference import DEFAULT_METHOD, truth_method_names
from .jobs import KINDS as JOB_KINDS
from .jobs import JobContext, JobService, import_message
from .project import Project
from .report import parse_label_orders
from .url_import import MAX_MEDIA_BYTES
from .workspace import Workspace

__all__ = [
    "AGGREGATION_METHODS",
    "DEDUP",
    "DEFAULT_METHOD",
    "DEFAULT_TOKEN_DAYS",
    "DUPLICATES",
    "JOB_KINDS",
    "JobContext",
    "JobService",
    "LEVELS",
    "MAX_MEDIA_BYTES",
    "MAX_PRIORITY",
    "MAX_TOKEN_DAYS",
    "METRICS",
    "ON_CONFLICT",
    "TIES",
    "WEIGHTS",
    "Project",
    "Workspace",
    "aggregate_from_file",
    "agreement_from_file",
    "answers_input",
    "backup_workspace",
    "check_workspace",
    "create_demo",
    "parse_label_orders",
    "import_message",
    "plugin_asset",
    "restore_workspace",
    "truth_method_names",
]
