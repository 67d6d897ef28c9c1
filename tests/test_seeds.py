"""Every seed notice against its hand-checked expected output (tests/expected/*.json), exactly."""

import polars as pl
import pytest

from conftest import EXPECTED, SEEDS

ROLE_NAMES = ("lead", "co", "responsible", "overall_lead")
SEEDS_WITH_EXPECTATIONS = [s for s in SEEDS if (EXPECTED / s.replace(".txt", ".json")).exists()]


def actual_items(doc):
    items = doc.frames["items"].sort("seq")
    asg = doc.frames["assignments"].sort(["item_id", "role", "ord"])
    leaders = doc.frames["leaders"].sort(["item_id", "ord"])
    by_item = {}
    for r in asg.iter_rows(named=True):
        by_item.setdefault(r["item_id"], {}).setdefault(r["role"], []).append(r["mention"])
    names = {}
    for r in leaders.iter_rows(named=True):
        names.setdefault(r["item_id"], []).append(r["name"])
    out = []
    for r in items.iter_rows(named=True):
        roles = by_item.get(r["item_id"], {})
        out.append({
            "parent_nos": r["parent_nos"], "item_no": r["item_no"], "kind": r["item_kind"],
            "binding": r["binding"], "starts": r["text"][:10],
            **{k: roles.get(k, []) for k in ROLE_NAMES}, "leaders": names.get(r["item_id"], []),
        })
    return out


@pytest.mark.parametrize("seed", SEEDS_WITH_EXPECTATIONS)
def test_counts_per_item_kind(seed, parsed_seeds, expected_seeds):
    assert parsed_seeds[seed].counts() == expected_seeds[seed]["counts"]


@pytest.mark.parametrize("seed", SEEDS_WITH_EXPECTATIONS)
def test_document_metadata(seed, parsed_seeds, expected_seeds):
    doc = parsed_seeds[seed].frames["documents"].row(0, named=True)
    exp = expected_seeds[seed]["doc"]
    got = {k: (str(doc[k]) if k == "published_on" and doc[k] else doc[k]) for k in exp}
    assert got == exp


@pytest.mark.parametrize("seed", SEEDS_WITH_EXPECTATIONS)
def test_every_item_and_its_units(seed, parsed_seeds, expected_seeds):
    got = actual_items(parsed_seeds[seed])
    exp = expected_seeds[seed]["items"]
    assert len(got) == len(exp)
    diffs = [(k, e, g) for k, (e, g) in enumerate(zip(exp, got)) if e != g]
    assert diffs == [], "\n".join(f"item #{k + 1}:\n  expected {e}\n  parsed   {g}" for k, e, g in diffs[:10])


def test_every_seed_has_hand_checked_expectations():
    assert SEEDS_WITH_EXPECTATIONS == SEEDS


def test_expected_counts_from_the_issue(expected_seeds):
    """The counts the issue states, so the hand-written files cannot drift from them."""
    counts = {s[:3]: e["counts"] for s, e in expected_seeds.items()}
    assert counts["000"] == {"indicator": 25, "target": 0, "task": 60, "project": 16}
    assert counts["001"] == {"indicator": 20, "target": 0, "task": 33, "project": 0}
    assert counts["002"] == {"indicator": 0, "target": 10, "task": 114, "project": 0}
    assert counts["003"] == {"indicator": 0, "target": 0, "task": 136, "project": 0}
    assert counts["004"] == {"indicator": 0, "target": 0, "task": 139, "project": 0}


def quirks(doc, check):
    q = doc.frames["quality_issues"].filter(check_name=check).join(doc.frames["items"], on="item_id", how="left")
    return sorted(("/".join(p + [n]) if n else None) for p, n in zip(q["parent_nos"].to_list(), q["item_no"].to_list()))


def test_qianjiang_2023_rows_without_a_visible_cell_boundary_are_flagged(parsed_seeds):
    got = quirks(parsed_seeds["003_c26dbfc0c5ce5eed.txt"], "ambiguous_cell_boundary")
    assert sorted(got, key=int) == ["3", "7", "8", "23", "28", "39", "45", "53", "56", "57", "75", "80", "81", "84",
                                    "85", "94", "102", "103", "106", "113", "116", "119", "131", "133", "136"]


def test_numbering_quirks_are_kept_as_printed_and_flagged(parsed_seeds):
    assert quirks(parsed_seeds["000_44ac6d9eff02a8d1.txt"], "numbering_duplicate") == ["三/五/3"]
    assert quirks(parsed_seeds["004_e6966e7ac26a54e2.txt"], "numbering_restart") == ["三/一/1"]
    qj = parsed_seeds["000_44ac6d9eff02a8d1.txt"].frames["items"].filter(pl.col("parent_nos") == ["三", "五"])
    assert qj["item_no"].to_list() == ["1", "2", "3", "3", "4"]


def test_seeds_have_no_error_level_findings(parsed_seeds):
    for name, doc in parsed_seeds.items():
        assert doc.frames["quality_issues"].filter(severity="error").height == 0, name
