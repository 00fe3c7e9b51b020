"""Pure types: label schemas, field types, roles and errors. No SQL, HTTP or files."""

from .errors import (
    AlreadyExists,
    AnnotationInvalid,
    AuthError,
    Conflict,
    Forbidden,
    IllegalTransition,
    ImportFailed,
    InvalidInput,
    LeaseExpired,
    NotFound,
    ProjectError,
    SchemaError,
    StaleVersion,
    TooManyAttempts,
    TruelabelError,
    UnknownComponent,
)
from .fields import FieldSpec, field_class, field_kinds, field_types, register_field_type
from .models import Annotation, ExportResult, ImportResult, Task, User
from .roles import Role, TokenScope, role_allows
from .schema import LabelSchema, label_studio_to_dict, schema_json_schema

__all__ = [
    "Annotation",
    "ExportResult",
    "ImportResult",
    "Task",
    "User",
    "AlreadyExists",
    "AnnotationInvalid",
    "AuthError",
    "Conflict",
    "FieldSpec",
    "Forbidden",
    "ImportFailed",
    "InvalidInput",
    "LabelSchema",
    "LeaseExpired",
    "NotFound",
    "ProjectError",
    "Role",
    "SchemaError",
    "StaleVersion",
    "IllegalTransition",
    "TokenScope",
    "TooManyAttempts",
    "TruelabelError",
    "UnknownComponent",
    "field_class",
    "field_kinds",
    "field_types",
    "label_studio_to_dict",
    "register_field_type",
    "role_allows",
    "schema_json_schema",
]
