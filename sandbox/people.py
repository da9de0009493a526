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
#: user ID → IANA time zone, as Slack's `users.info` reports it (`user.tz`); the team is spread out
TIMEZONES = {
    "UALICE": "Asia/Shanghai",
    "UOSCAR": "Asia/Kolkata",
    "UBOB": "Europe/Berlin",
    "UCAROL": "America/New_York",
    "UMALLORY": "UTC",
}
OPERATORS = "UALICE,@platform-ops"
APPROVERS = "UBOB,UCAROL"
#: user group ID, handle, members
USERGROUPS = (("S0PLATFORM", "platform-ops", ("UOSCAR",)),)
