"""The version a workflow step acts on: the optional ``expectedVersion`` argument of every step
mutation of a service case, a government-service application and an enterprise request."""

from __future__ import annotations

from typing import Annotated

import strawberry

ExpectedVersion = Annotated[
    int | None,
    strawberry.argument(
        description="The version you saw (the object's `version`): if it was changed "
        "meanwhile, the step is refused with extensions.code CONFLICT instead of acting on "
        "what you did not see"
    ),
]
