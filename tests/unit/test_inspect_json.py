"""`inspect --json` output: indented, one line per file, and the same document json reads."""

from __future__ import annotations

import json

from app.cli_inspect import dump_json


def test_dump_json_is_the_same_document_with_a_line_per_file() -> None:
    files = [
        {"path": f"/f{i}", "size": i, "extents": [{"lba": 30 + i, "bytes": i}]} for i in range(3)
    ]
    doc: dict[str, object] = {"schema": "discvault.inspect/1", "problems": [], "files": files}
    text = dump_json(dict(doc))
    assert json.loads(text) == doc
    lines = text.splitlines()
    assert sum(1 for ln in lines if ln.lstrip().startswith('{"path"')) == 3
    assert lines[0] == "{" and lines[-1] == "}"


def test_dump_json_without_files_or_with_none() -> None:
    doc: dict[str, object] = {"schema": "discvault.inspect/1", "files": []}
    assert json.loads(dump_json(dict(doc))) == doc
    bare: dict[str, object] = {"schema": "discvault.inspect/1", "problems": ["x"]}
    assert dump_json(dict(bare)) == json.dumps(bare, indent=2)
