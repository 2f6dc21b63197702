"""Publishing a policy in tests under four eyes: its author publishes, and when the version
widens anyone's access (a new policy always does) a second steward approves it."""

from __future__ import annotations

from hub.policy.workflow import PolicyVersion, PolicyWorkflow

SECOND_STEWARD = "user:second-steward"


def publish_approved(
    workflow: PolicyWorkflow, name: str, version: int, *, author: str, reason: str
) -> PolicyVersion:
    published = workflow.publish(name, version, author=author, reason=reason)
    if published.status == "pending":
        published = workflow.approve(name, version, approver=SECOND_STEWARD, reason=reason)
    assert published.status == "published"
    return published
