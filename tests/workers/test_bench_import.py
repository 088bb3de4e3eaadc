"""`plantops bench import`: the workbook it uploads passes the import's own checks, every
row its own (asset, detection time, title), so each one registers."""

from domain.rules import imports as rules
from domain.services.imports import read_rows
from workers.bench_import import fill


def test_the_bench_workbook_is_valid_and_has_no_duplicate_rows():
    _, rows = read_rows(fill(["SAW-JKS-001", "SAW-JKS-002"], 250, "T1"))
    assert len(rows) == 250 and rows[0][0] == 2
    checked = [rules.check_row(cells) for _, cells in rows]
    assert all(not problems for _, problems in checked)
    keys = {(v["asset"], v["detected_at"], rules.title_key(v["title"])) for v, _ in checked}
    assert len(keys) == 250
