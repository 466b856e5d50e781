"""Turning request events into checked sequences, with errors that name the field and the limit."""

from __future__ import annotations

from agent.api.errors import ApiError
from agent.api.protocol import EventRecord
from detectors.events import Event, EventError, parse_event
from detectors.sequences import Sequence, group_sequences


def parse_records(records: list[EventRecord], where: str) -> list[Event]:
    """FORMATS.md validation of each record; a bad one is a 422 naming `where[i].field`."""
    events = []
    for index, record in enumerate(records):
        try:
            events.append(parse_event(record.model_dump(exclude_none=True)))
        except EventError as error:
            reason = str(error).split(": ", 1)[-1]
            raise ApiError(
                422, "invalid_event", f"{where}[{index}].{error.field}: {reason}"
            ) from None
    return events


def check_sequence_limit(sequences: list[Sequence], max_events: int) -> None:
    for sequence in sequences:
        if len(sequence) > max_events:
            raise ApiError(
                422,
                "limit_exceeded",
                f"sequence of user {sequence.user_id!r} has {len(sequence)} events; "
                f"the limit is {max_events} events per sequence",
            )


def one_user_sequence(events: list[Event], where: str, max_events: int) -> Sequence:
    """The single sequence an alert is about; events of several users are a 422."""
    sequences = group_sequences(events)
    if len(sequences) != 1:
        users = ", ".join(repr(sequence.user_id) for sequence in sequences[:5])
        raise ApiError(
            422,
            "invalid_request",
            f"{where}: an alert is about one user; got {len(sequences)} users ({users})",
        )
    check_sequence_limit(sequences, max_events)
    return sequences[0]
