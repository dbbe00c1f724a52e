"""The client's Server-Sent Events parser (WHATWG event-stream rules)."""

from __future__ import annotations

from connectors.client import SseEvent, SseParser


def _feed(parser: SseParser, text: bytes) -> list[SseEvent]:
    out = []
    for line in text.splitlines(keepends=True):
        event = parser.feed(line)
        if event is not None:
            out.append(event)
    return out


def test_events_ids_comments_and_multiline_data() -> None:
    parser = SseParser()
    stream = (
        b"retry: 2000\n\n"
        b": keep-alive\n\n"
        b'id: e1-1\nevent: lead\ndata: {"a": 1}\n\n'
        b"data: line one\r\ndata: line two\r\n\r\n"
        b'id: e1-2\nevent: lead\ndata:{"b": 2}\n\n'
    )
    events = _feed(parser, stream)
    assert events == [
        SseEvent("lead", '{"a": 1}', "e1-1"),
        SseEvent("message", "line one\nline two", "e1-1"),
        SseEvent("lead", '{"b": 2}', "e1-2"),
    ]
    assert parser.retry_ms == 2000 and parser.last_event_id == "e1-2"


def test_an_unfinished_event_is_not_emitted() -> None:
    parser = SseParser(last_event_id="x-5")
    assert _feed(parser, b"id: x-6\nevent: lead\ndata: {}\n") == []
    assert parser.feed(b"\n") == SseEvent("lead", "{}", "x-6")
