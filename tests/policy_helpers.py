"""Publishing a policy in tests under four eyes: its author publishes, and when the version
widens anyone's access (a new policy always does) a second steward approves it."""

from __future__ import annotations

import hashlib
import json
import re

from hub.policy.workflow import SEED_DIR, PolicyVersion, PolicyWorkflow

SECOND_STEWARD = "user:second-steward"


def publish_approved(
    workflow: PolicyWorkflow, name: str, version: int, *, author: str, reason: str
) -> PolicyVersion:
    published = workflow.publish(name, version, author=author, reason=reason)
    if published.status == "pending":
        published = workflow.approve(name, version, approver=SECOND_STEWARD, reason=reason)
    assert published.status == "published"
    return published


def publish_source(workflow: PolicyWorkflow, source: str, reason: str = "test") -> PolicyVersion:
    """Draft a policy from TOML text and publish it (approved when it widens)."""
    draft = workflow.draft(source, author="user:test", reason=reason)
    return publish_approved(workflow, draft.name, draft.version, author="user:test", reason=reason)


def department_policy(client_id: str, department: str, street: str | None = None) -> str:
    """The department seed as a client's own policy, naming its department (and street)
    under ``principals``: what a steward writes for one department's application."""
    seed = (SEED_DIR / "department.toml").read_text(encoding="utf-8")
    attrs = {"department": department} | ({"street": street} if street else {})
    inline = ", ".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in attrs.items())
    name = "dept-" + hashlib.sha256(client_id.encode()).hexdigest()[:12]
    head = (
        f'name = "{name}"\nsubject = "client:{client_id}"\n'
        f'principals = {{ "client:{client_id}" = {{ {inline} }} }}\n'
    )
    return head + re.sub(r"^(name|subject) = .*\n", "", seed, flags=re.M)
