"""The item lifecycle: the states an item passes through and the transitions between them.

Every item has exactly one state (``items.state``, migration 0008). The state names below are
stored in the database and used in URLs and filters; their meaning is fixed::

    queued ──lease──▶ in_progress ──submit (enough answers)──▶ submitted ─┬─▶ in_review
      ▲                 │  ▲                                      │       │     │
      └─skip / expiry───┘  └──── rework lease / more overlap ─────┤       │  accept/correct
                                                                  │       ▼     ▼
       rejected ◀──── reject (submitted, in_review, in_adjudication) ── submitted
       in_adjudication ──decide──▶ decided ──sign-off──▶ signed_off

The rules (the full table is :data:`TRANSITIONS`; docs/lifecycle.md explains them):

- **queued**: nobody holds a lease and nobody has answered yet.
- **in_progress**: someone holds a lease, or some but not enough answers are in (an item
  with overlap 3 stays in progress until its third answer).
- **submitted**: enough answers; no review stage waits for it.
- **in_review**: enough answers and the project has review stages; waiting for a reviewer.
- **rejected**: a reviewer rejected an answer; the item waits for rework (it left the
  adjudication queue, if it was there).
- **in_adjudication**: the answers disagree past the workflow's threshold; a manager decides.
- **decided**: a manager decided the label; it is never handed to annotators again.
- **signed_off**: a manager signed the project off with this item finished.
"""

from __future__ import annotations

from enum import StrEnum


class ItemState(StrEnum):
    """The lifecycle state of one item (the value of ``items.state``)."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    REJECTED = "rejected"
    IN_ADJUDICATION = "in_adjudication"
    DECIDED = "decided"
    SIGNED_OFF = "signed_off"


QUEUED = ItemState.QUEUED
IN_PROGRESS = ItemState.IN_PROGRESS
SUBMITTED = ItemState.SUBMITTED
IN_REVIEW = ItemState.IN_REVIEW
REJECTED = ItemState.REJECTED
IN_ADJUDICATION = ItemState.IN_ADJUDICATION
DECIDED = ItemState.DECIDED
SIGNED_OFF = ItemState.SIGNED_OFF

#: every state name, in lifecycle order (filters and UI list them in this order)
STATES: tuple[str, ...] = tuple(s.value for s in ItemState)

#: states in which annotators may still be handed the item
WORKABLE: frozenset[ItemState] = frozenset({QUEUED, IN_PROGRESS, REJECTED})

#: states in which the item's labels are settled (no annotator work, no review changes)
CLOSED: frozenset[ItemState] = frozenset({DECIDED, SIGNED_OFF})


class ItemEvent(StrEnum):
    """What happens to an item; each event allows the transitions in :data:`TRANSITIONS`."""

    LEASE = "lease"  # an annotator is handed (or assigned) the item: next, rework
    SUBMIT = "submit"  # an answer arrives (the last one wanted: submitted)
    SKIP = "skip"  # an annotator skips it
    EXPIRE = "expire"  # a lease runs out
    REVIEW_NEEDED = "review_needed"  # submitted in a project with review stages
    ACCEPT = "accept"  # a reviewer accepts an answer
    CORRECT = "correct"  # a reviewer corrects an answer
    REJECT = "reject"  # a reviewer rejects an answer: rework
    MORE_ANSWERS = "more_answers"  # adaptive overlap or a higher overlap wants another answer
    ADJUDICATION_NEEDED = "adjudication_needed"
    DECIDE = "decide"  # a manager decides the label
    AGGREGATE = "aggregate"  # ground truth computed; no state change
    EDIT = "edit"  # an annotator replaces their own answer; no state change
    SIGN_OFF = "sign_off"


_OPEN_WORK = (QUEUED, IN_PROGRESS, REJECTED)
_ANSWERED = (IN_PROGRESS, SUBMITTED, IN_REVIEW, REJECTED, IN_ADJUDICATION)


def _same(states: tuple[ItemState, ...]) -> dict[ItemState, frozenset[ItemState]]:
    return {s: frozenset({s}) for s in states}


#: (state, event) -> the states the event may lead to from there. Which one is taken depends
#: on counts (answers in, leases held) the core decides; anything not listed is illegal.
TRANSITIONS: dict[tuple[ItemState, ItemEvent], frozenset[ItemState]] = {
    **{(s, ItemEvent.LEASE): frozenset({IN_PROGRESS}) for s in _OPEN_WORK},
    **{(s, ItemEvent.SUBMIT): frozenset({IN_PROGRESS, SUBMITTED}) for s in _OPEN_WORK},
    (IN_PROGRESS, ItemEvent.SKIP): frozenset({QUEUED, IN_PROGRESS, REJECTED}),
    (IN_PROGRESS, ItemEvent.EXPIRE): frozenset({QUEUED, IN_PROGRESS, REJECTED}),
    (SUBMITTED, ItemEvent.REVIEW_NEEDED): frozenset({IN_REVIEW}),
    # a review of one answer: an item waiting for review is reviewed (submitted); any
    # other unsettled item keeps its state
    **{(s, e): t | ({SUBMITTED} if s is IN_REVIEW else frozenset())
       for e in (ItemEvent.ACCEPT, ItemEvent.CORRECT)
       for s, t in _same(_ANSWERED).items()},
    **{(s, ItemEvent.REJECT): frozenset({REJECTED}) for s in _ANSWERED},
    **{(s, ItemEvent.MORE_ANSWERS): frozenset({QUEUED, IN_PROGRESS})
       for s in (SUBMITTED, IN_REVIEW)},
    **{(s, ItemEvent.ADJUDICATION_NEEDED): frozenset({IN_ADJUDICATION})
       for s in (SUBMITTED, IN_REVIEW)},
    (IN_ADJUDICATION, ItemEvent.DECIDE): frozenset({DECIDED}),
    **{(s, ItemEvent.AGGREGATE): frozenset({s}) for s in ItemState},
    **{(s, ItemEvent.EDIT): frozenset({s}) for s in _ANSWERED},
    **{(s, ItemEvent.SIGN_OFF): frozenset({SIGNED_OFF}) for s in (SUBMITTED, DECIDED)},
}


def allowed(state: str, event: str) -> frozenset[ItemState]:
    """The states ``event`` may lead to from ``state`` (empty: the transition is illegal)."""
    try:
        return TRANSITIONS.get((ItemState(state), ItemEvent(event)), frozenset())
    except ValueError:
        return frozenset()
