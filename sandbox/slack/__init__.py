"""A simulated Slack workspace: Web API, response_url, file uploads, Socket Mode, and a driver."""

from sandbox.slack.driver import DriverReply, SlackDriver
from sandbox.slack.models import Ephemeral, Message, Rejection, UploadedFile
from sandbox.slack.socket_mode import NoSocketModeClient
from sandbox.slack.validation import SlackError
from sandbox.slack.workspace import SlackWorkspace

__all__ = [
    "DriverReply",
    "Ephemeral",
    "Message",
    "NoSocketModeClient",
    "Rejection",
    "SlackDriver",
    "SlackError",
    "SlackWorkspace",
    "UploadedFile",
]
