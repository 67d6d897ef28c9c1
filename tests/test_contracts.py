"""Each stage contract passes a good frame and names the check a broken frame fails."""

import polars as pl
import pytest

from validation.contracts import describe, validate_frames

SEED = "004_e6966e7ac26a54e2.txt"


@pytest.fixture
def frames(parsed_seeds):
    return dict(parsed_seeds[SEED].frames)


def checks_failing(frames):
    return sorted({(f["frame"], f["check"]) for f in validate_frames(frames)})


def test_good_frames_pass(parsed_seeds):
    for doc in parsed_seeds.values():
        assert validate_frames(doc.frames) == []


def first_row(frame, **changes):
    return frame.with_columns(**{k: pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(v)).otherwise(pl.col(k))
                                 for k, v in changes.items()})


BREAKS = [
    ("items", lambda f: first_row(f, item_kind="chore"), ("items", "isin(['indicator', 'target', 'task', 'project'])")),
    ("items", lambda f: first_row(f, text=""), ("items", "str_length(1, None)")),
    ("items", lambda f: first_row(f, char_start=10**6, char_end=10), ("items", "start_before_end")),
    ("items", lambda f: first_row(f, char_end=10**8), ("items", "inside_document")),
    ("items", lambda f: first_row(f, char_start=0), ("items", "inside_parent")),
    ("items", lambda f: first_row(f, binding="约束性"), ("items", "binding_only_on_indicators")),
    ("items", lambda f: pl.concat([f, f.head(1)]), ("items", "field_uniqueness")),
    ("items", lambda f: pl.concat([f, f.head(1).with_columns(item_id=pl.lit("another"))]),
     ("items", "seq_unique_per_document")),
    ("assignments", lambda f: first_row(f, role="boss"), ("assignments", "isin(['overall_lead', 'lead', 'co', 'responsible'])")),
    ("assignments", lambda f: first_row(f, item_id="nowhere"), ("assignments", "points_to_an_item")),
    ("assignments", lambda f: first_row(f, role="responsible"), ("assignments", "lead_and_responsible_never_together")),
    ("assignments", lambda f: first_row(f, mention="局"), ("assignments", "str_length(2, None)")),
    ("leaders", lambda f: pl.DataFrame({**{c: [None] for c in f.columns}}, schema=f.schema).with_columns(
        doc_id=pl.lit(f"{'0' * 16}"), item_id=pl.lit("x"), name=pl.lit("某"), char_start=pl.lit(5, pl.Int64),
        char_end=pl.lit(6, pl.Int64), ord=pl.lit(1, pl.Int64)), ("leaders", "str_length(2, 12)")),
    ("units", lambda f: first_row(f, functions=pl.Series([[]], dtype=pl.List(pl.Utf8)).first()),
     ("units", "resolved_units_have_a_function")),
    ("units", lambda f: first_row(f, source="guess"),
     ("units", "isin(['reviewed', 'document', 'dictionary', 'rule', 'provisional'])")),
    ("units", lambda f: pl.concat([f, f.head(1)]), ("units", "one_row_per_unit_per_document")),
    ("unit_aliases", lambda f: pl.concat([f, f.head(1).with_columns(unit_id=pl.lit("elsewhere"))]),
     ("unit_aliases", "one_unit_per_alias")),
    ("indicators", lambda f: f.with_columns(value=pl.lit(None, pl.Float64)), ("indicators", "number_unless_qualitative")),
    ("indicators", lambda f: f.with_columns(value=pl.lit(150.0), value_unit=pl.lit("%"), basis=pl.lit("level")),
     ("indicators", "percent_levels_within_0_100")),
    ("indicators", lambda f: f.with_columns(comparator=pl.lit("≈")), ("indicators", "isin(['=', '>=', '>', '<=', '<', '~'])")),
    ("documents", lambda f: f.with_columns(doc_kind=pl.lit("memo")), ("documents", "isin(['fyp', 'gwr'])")),
    ("documents", lambda f: f.with_columns(period_start=pl.lit(2030, pl.Int64)), ("documents", "period_in_order")),
    ("sections", lambda f: first_row(f, style="roman"), ("sections", "isin(['cn1', 'cn2', 'ar', 'ar2', 'group', 'row'])")),
    ("quality_issues", lambda f: pl.DataFrame({"doc_id": ["d"], "item_id": [None], "severity": ["fatal"],
                                               "check_name": ["x"], "message": ["m"]}, schema=f.schema),
     ("quality_issues", "isin(['error', 'warning'])")),
]


@pytest.mark.parametrize("frame, breaker, expected", BREAKS, ids=[b[2][1][:40] + "@" + b[0] for b in BREAKS])
def test_broken_frame_fails_its_check(frames, frame, breaker, expected):
    frames[frame] = breaker(frames[frame])
    assert expected in checks_failing(frames)


def test_failures_are_described_in_plain_words(frames):
    frames["assignments"] = first_row(frames["assignments"], item_id="nowhere")
    text = describe(validate_frames(frames))
    assert "assignments: check 'points_to_an_item' failed for 1 row(s), e.g. item_id nowhere (区发改局)" in text


def test_a_batch_of_documents_is_validated_together(parsed_seeds):
    """Uniqueness of seq, unit_id and aliases is per document: a batch passes as one frame."""
    from validation.batch import concat_frames

    assert validate_frames(concat_frames(list(parsed_seeds.values()))) == []


def test_an_item_number_used_twice_in_one_document_fails(frames):
    frames["items"] = first_row(frames["items"], seq=2)
    assert ("items", "seq_unique_in_document") in checks_failing(frames)
