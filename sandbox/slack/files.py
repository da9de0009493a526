"""The files_upload_v2 trio: getUploadURLExternal, the upload itself, completeUploadExternal."""

from __future__ import annotations

import itertools
import json
import mimetypes
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.slack.models import Message, UploadedFile
from sandbox.slack.validation import MAX_TEXT, SlackError
from sandbox.slack.webapi import Handler, channel_param, optional_str, required_str, thread_param

if TYPE_CHECKING:
    from sandbox.slack.workspace import SlackWorkspace


@dataclass
class PendingUpload:
    """A file id handed out by getUploadURLExternal, waiting for its bytes and completion."""

    filename: str
    length: int
    content: bytes | None = None


class FileStore:
    """Uploads in flight, by file id."""

    def __init__(self) -> None:
        self.pending: dict[str, PendingUpload] = {}
        self._ids = itertools.count(1)

    def new_id(self) -> str:
        """A file id in Slack's style."""
        return f"F0SANDBOX{next(self._ids):04d}"


async def get_upload_url_external(workspace: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """files.getUploadURLExternal: reserve a file id and the URL its bytes go to."""
    filename = required_str(params, "filename")
    try:
        length = int(required_str(params, "length"))
    except ValueError:
        raise SlackError("invalid_arguments", "length must be an integer") from None
    file_id = workspace.file_store.new_id()
    workspace.file_store.pending[file_id] = PendingUpload(filename, length)
    return {"upload_url": f"{workspace.url}/upload/v1/{file_id}", "file_id": file_id}


def receive_upload(workspace: SlackWorkspace, file_id: str, content: bytes) -> tuple[int, str]:
    """The upload POST: keep the bytes for a reserved file id."""
    pending = workspace.file_store.pending.get(file_id)
    if pending is None:
        return 404, "file_not_found"
    pending.content = content
    workspace.notify()
    return 200, f"OK - {len(content)}"


async def complete_upload_external(workspace: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """files.completeUploadExternal: finish uploads and share them, as one message, where asked."""
    try:
        entries = json.loads(required_str(params, "files"))
    except ValueError:
        raise SlackError("invalid_arguments", "files must be a JSON array") from None
    if not isinstance(entries, list) or not entries:
        raise SlackError("invalid_arguments", "files must be a non-empty JSON array")
    # files_upload_v2 sends channel_id; its deprecated channels= form is a comma-separated list.
    named = optional_str(params, "channel_id") or (optional_str(params, "channels") or "").split(",")[0]
    channel = channel_param(workspace, {"channel": named}) if named else None
    thread_ts = optional_str(params, "thread_ts")
    if thread_ts is not None and channel is None:
        raise SlackError("invalid_arguments", "thread_ts needs channel_id")
    thread_ts = thread_param(workspace, channel, thread_ts) if channel else None
    comment = optional_str(params, "initial_comment")
    if comment is not None and len(comment) > MAX_TEXT:
        raise SlackError("msg_too_long", f"initial_comment has {len(comment)} characters")

    uploaded = [_finish(workspace, entry, channel, thread_ts, comment) for entry in entries]
    for file in uploaded:
        del workspace.file_store.pending[file.id]
        workspace.files.append(file)
    if channel is not None:
        message = Message(channel, workspace.next_ts(), thread_ts, comment or "", [], workspace.bot_user_id)
        message.files = uploaded
        workspace.record(message)
    else:
        workspace.notify()
    return {"files": [_describe(workspace, f) for f in uploaded]}


def _finish(
    workspace: SlackWorkspace, entry: Any, channel: str | None, thread_ts: str | None, comment: str | None
) -> UploadedFile:
    if not isinstance(entry, dict) or "id" not in entry:
        raise SlackError("invalid_arguments", "each file needs an id")
    pending = workspace.file_store.pending.get(str(entry["id"]))
    if pending is None:
        raise SlackError("file_not_found", f"no upload was started for {entry['id']}")
    if pending.content is None:
        raise SlackError("file_not_found", f"{entry['id']}: its bytes were never uploaded")
    title = entry.get("title")
    return UploadedFile(
        str(entry["id"]), pending.filename, title, pending.content, channel, thread_ts, comment
    )


def _describe(workspace: SlackWorkspace, file: UploadedFile) -> dict[str, Any]:
    mimetype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return {
        "id": file.id,
        "name": file.name,
        "title": file.title or file.name,
        "mimetype": mimetype,
        "filetype": file.name.rsplit(".", 1)[-1] if "." in file.name else "binary",
        "size": len(file.content),
        "user": workspace.bot_user_id,
        "channels": [file.channel] if file.channel else [],
    }


METHODS: dict[str, Handler] = {
    "files.getUploadURLExternal": get_upload_url_external,
    "files.completeUploadExternal": complete_upload_external,
}
