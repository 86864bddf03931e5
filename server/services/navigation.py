"""The staff navigation: which pages each person's role uses, derived from the permissions.

One table maps each page to the permission it needs (``access.PERMISSIONS``); a role sees a
page in its navigation exactly when it holds that permission, so the navigation never holds
a second list of roles that could drift from what the API allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.services.access import may
from server.services.sessions import Principal


@dataclass(frozen=True)
class NavPage:
    # The key the template translates into the page's name.
    key: str
    path: str
    permission: str


# In the order the navigation shows them.
PAGES: tuple[NavPage, ...] = (
    NavPage("today", "/today", "encounter.read_clinical"),
    NavPage("alerts", "/alerts", "alert.read"),
    NavPage("schedule", "/schedule", "schedule.book"),
    NavPage("working_hours", "/availability", "availability.own"),
    NavPage("availability", "/availability", "availability.manage"),
    NavPage("calendar_feed", "/calendar-feed", "calendar.own"),
    NavPage("drills", "/drills", "drill.read"),
    NavPage("quality", "/quality", "quality.read"),
    NavPage("users", "/admin/users", "user.update"),
    NavPage("audit", "/admin/audit", "audit.read"),
)


def pages_for(who: Principal | None) -> list[NavPage]:
    """The pages ``who`` uses, in navigation order; none for a family or nobody."""
    if who is None or not who.is_staff:
        return []
    return [p for p in PAGES if may(who, p.permission)]


def current_key(pages: list[NavPage], path: str) -> str | None:
    """The navigation entry the request's path belongs to (the longest matching prefix)."""
    best: NavPage | None = None
    for page in pages:
        if (path == page.path or path.startswith(page.path + "/")) and (
            best is None or len(page.path) > len(best.path)
        ):
            best = page
    return best.key if best else None
