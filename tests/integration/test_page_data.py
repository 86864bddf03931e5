"""A patient whose name looks like markup cannot break a page that carries it as data."""

from __future__ import annotations

import json
import re

from server.store.models import Patient

NAME = "<!--<script></script><b>Rose & Co</b>"


async def test_a_markup_name_stays_data_on_the_drill_console(world, db) -> None:
    async with db.begin() as s:
        patient = await s.get(Patient, world.patients["a"].id)
        patient.name = NAME
    coordinator = await world.agent("coord_a")
    status, html = await coordinator.call("GET", "/drills")
    assert status == 200
    block = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    assert block is not None
    assert "<" not in block.group(1) and "&" not in block.group(1)
    names = [p["name"] for p in json.loads(block.group(1))["patients"]]
    assert NAME in names
