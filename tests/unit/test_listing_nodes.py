"""isoscan.file_node builds file nodes without Node's __init__: every field must still be set,
to the value Node(...) would give it (a field added to Node and forgotten there fails here)."""

from __future__ import annotations

from dataclasses import fields

from app.core.fs.isoscan import file_node
from app.core.fs.node import Node


def test_file_node_equals_the_dataclass() -> None:
    made = file_node("a.txt", "/d/a.txt", 5, [(40, 5)], 1.5, 0o100644, True)
    want = Node("a.txt", "/d/a.txt", "file", 5, [(40, 5)], 1.5, 0o100644, hidden=True)
    for f in fields(Node):  # an unset slot raises AttributeError here
        assert getattr(made, f.name) == getattr(want, f.name), f.name
    assert made == want


def test_file_node_of_an_empty_file() -> None:
    made = file_node("e", "/e", 0, [], None, None, False)
    assert made == Node("e", "/e", "file")
