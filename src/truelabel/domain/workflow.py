"""Workflow settings of a project: overlap, adaptive overlap, gold, review stages, adjudication."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .limits import MAX_TITLE_CHARS
from .roles import Role


class ReviewStage(BaseModel):
    """One review stage: who reviews, and what share of annotations they see."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60, description="the stage's name, unique")
    role: Role = Field(default=Role.REVIEWER, description="the least role that reviews here")
    sample_rate: float = Field(default=1.0, ge=0.0, le=1.0,
                               description="share of annotations this stage sees")


class Workflow(BaseModel):
    """Per-project quality workflow. Stored as JSON in ``projects.settings``."""

    model_config = ConfigDict(extra="forbid")

    adaptive: bool = Field(default=False, description="add annotators to items that disagree")
    adaptive_max: int = Field(default=5, ge=1, le=50, description="most annotators per item")
    adaptive_min_confidence: float = Field(
        default=1.0, ge=0.0, le=1.0,
        description="an item whose majority share is below this gets one more annotator",
    )
    gold_rate: float = Field(default=0.0, ge=0.0, le=1.0,
                             description="share of each annotator's tasks that are gold items")
    gold_feedback: bool = Field(default=False,
                                description="show the known answer after a gold task "
                                            "(training and qualification rounds)")
    review_stages: list[ReviewStage] = Field(
        default_factory=list, max_length=10,
        description="review stages in order; each sees a sample of the submitted annotations")
    adjudication_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="items whose disagreement (1 - majority share) stays above this, once "
                    "fully labelled, go to the adjudication queue",
    )
    min_agreement: float = Field(
        default=0.667, ge=-1.0, le=1.0,
        description="agreement (Krippendorff's alpha) below which a sign-off warns and needs "
                    "an override reason",
    )
    slice_keys: list[Annotated[str, Field(max_length=MAX_TITLE_CHARS)]] = Field(
        default_factory=list, max_length=20,
        description="item data keys to break agreement down by")

    @model_validator(mode="after")
    def _stage_names_unique(self) -> Workflow:
        names = [s.name for s in self.review_stages]
        if len(set(names)) != len(names):
            raise ValueError(f"review stage names must be unique; got {names}")
        return self
