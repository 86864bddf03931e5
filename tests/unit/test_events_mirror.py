"""The browser's event names are the server's, letter for letter."""

from __future__ import annotations

import re
from pathlib import Path

from signaling import events

EVENTS_JS = Path(__file__).resolve().parents[2] / "web/static/js/lib/events.js"


def test_events_js_mirrors_signaling_events() -> None:
    text = EVENTS_JS.read_text()
    exported = dict(re.findall(r'export const (\w+) = "([^"]+)";', text))
    python = {
        name: value
        for name, value in vars(events).items()
        if name.isupper() and isinstance(value, str)
    }
    assert exported == python
    for group in ("CLIENT_EVENTS", "SERVER_EVENTS"):
        js_names = re.search(rf"export const {group} = \[([^\]]*)\]", text, re.S)
        assert js_names is not None
        listed = [python[n.strip()] for n in js_names.group(1).split(",") if n.strip()]
        assert listed == list(getattr(events, group))
