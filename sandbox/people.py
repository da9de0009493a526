"""The people of the sandbox workspace and what they may do."""

from __future__ import annotations

#: user ID → handle
PEOPLE = {
    "UALICE": "alice",  # operator
    "UOSCAR": "oscar",  # operator, through the @platform-ops user group
    "UBOB": "bob",  # approver
    "UCAROL": "carol",  # approver
    "UMALLORY": "mallory",  # nobody in particular
}
OPERATORS = "UALICE,@platform-ops"
APPROVERS = "UBOB,UCAROL"
#: user group ID, handle, members
USERGROUPS = (("S0PLATFORM", "platform-ops", ("UOSCAR",)),)
