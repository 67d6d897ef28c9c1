"""Regression tests for what a review of the layout work found (tests/fixtures/review/ holds the
reviewer's probes). Each test is named after the bug it pins."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from transforms.deadlines import deadline_date
from transforms.document import parse_document
from transforms.formats import html_to_text

from conftest import roles_by_item as rows

REVIEW = Path(__file__).parent / "fixtures" / "review"


def parse(name: str):
    return parse_document((REVIEW / name).read_bytes(), name)


def checks(doc) -> list[str]:
    return doc.frames["quality_issues"]["check_name"].to_list()


def test_spaced_header_over_glued_rows_lost_every_row():
    assert rows(parse("spaced_header_glued_rows.txt")) == [
        ("1", {"co": ["市自然资源和规划局", "市生态环境局"], "lead": ["市水利和湖泊局"]}),
        ("2", {"lead": ["市自然资源和规划局"]}),
    ]


def test_numbered_note_after_a_table_swallowed_the_last_row():
    assert [n for n, _ in rows(parse("p48_table_then_notes.txt"))] == ["1", "2"]


def test_heading_inside_a_pipe_table_swallowed_the_row_before_it():
    assert [n for n, _ in rows(parse("p06_pipe_heading_mid.txt"))] == ["1", "2", "二/3", "二/4"]


def test_row_numbers_with_gaps_or_punctuation_were_dropped():
    doc = parse("p32_pipe_variants.txt")
    assert [n for n, _ in rows(doc)] == ["1", "2", "3", "四", "5"]
    assert rows(doc)[0][1] == {"co": ["市统计局", "市财政局"], "lead": ["市发展改革委"]}  # a continuation row
    assert [n for n, _ in rows(parse("p33_lines_gap.txt"))] == ["1", "3", "4"]
    space = parse("p31_space_wrap_gap.txt")
    assert [n for n, _ in rows(space)] == ["1", "2", "3", "5", "6"]
    assert "numbering_gap" in checks(space)


def test_space_row_took_a_co_unit_as_lead():
    doc = parse("p04_space_table.txt")
    assert rows(doc)[0] == ("1", {"co": ["市统计局", "市财政局"], "lead": ["市发展改革委"]})
    assert rows(doc)[1] == ("2", {"lead": ["市教育局"]})
    assert "ambiguous_cell_boundary" in checks(doc)


def test_lead_group_did_not_reset_a_merged_lead():
    assert [r.get("lead") for _, r in rows(parse("p56_group_vs_merged.txt"))] == [["市发改委"], ["市商务局"], ["市商务局"]]


def test_empty_html_cell_was_read_as_merged_and_a_merged_last_row_as_truncated():
    doc = parse("p08_merged_last.html")
    assert [r for _, r in rows(doc)] == [
        {"co": ["市财政局"], "lead": ["市发改委"]}, {"lead": ["市发改委"]}, {"responsible": ["市商务局", "市文旅局"]},
        {"lead": ["市商务局"]}, {"lead": ["市商务局"]},
    ]
    assert "truncated" not in checks(doc)


def test_rowspan_on_the_task_cell_emptied_the_item_text():
    assert rows(parse("p49_rowspan_task.html")) == [
        ("1", {"co": ["市财政局", "市商务局"], "lead": ["市发改委", "市招商服务中心"]}),
        ("2", {"co": ["市财政局"], "lead": ["市住建局"]}),
        ("3", {"co": ["市财政局"], "lead": ["市交通运输局"]}),
        ("4", {"co": ["市文旅局"], "lead": ["市商务局"]}),
    ]


def test_a_bar_inside_an_html_cell_shifted_the_columns():
    assert rows(parse("p41_cell_pipe.html"))[0] == ("1", {"co": ["市财政局"], "lead": ["市发改委"]})


@pytest.mark.parametrize("page", ["p12_aspnet_form.html", "p13_layout_table_sidebar.html", "p51_ol_list.html"])
def test_asp_net_forms_layout_tables_and_ordered_lists_lost_the_notice(page):
    doc = parse(page)
    assert rows(doc)[:2] == [("一/1", {"co": ["市发改委"], "lead": ["市自然资源和规划局"]}),
                             ("一/2", {"lead": ["市发改委"]})]


def test_a_sidebar_of_news_was_taken_as_the_article():
    assert "常务会议" not in html_to_text((REVIEW / "p13_layout_table_sidebar.html").read_text(encoding="utf-8"))


def test_inner_list_after_a_full_stop_was_cut_into_items():
    assert rows(parse("p11_inner_enum.txt")) == [("一/1", {"lead": ["市发改委"]}), ("一/2", {"lead": ["市统计局"]})]


def test_guojia_was_stripped_when_the_jurisdiction_is_unknown():
    asg = parse("p57_unknown_jur_national_prefix.txt").frames["assignments"]
    ids = dict(zip(asg["mention"], asg["unit_id"]))
    assert ids["国家统计局"] != ids["统计局"] and ids["国家税务局"] != ids["税务局"]


def test_a_county_notice_mentioning_the_state_council_was_filed_as_national():
    assert parse("p34_national_misfire.txt").frames["documents"]["admin_level"][0] != "national"


@pytest.mark.parametrize("written, expected", [
    ("3个月内", None), ("10个工作日内", None), ("国家要求时限内完成", None), ("2023年以来持续推进", None),
    ("2024年至2025年", dt.date(2025, 12, 31)), ("年底前", dt.date(2024, 12, 31)),
])
def test_deadlines_invented_a_year_end(written, expected):
    assert deadline_date(written, 2024) == expected


def test_leader_span_ended_inside_a_padded_name():
    doc = parse_document((REVIEW.parent / "layouts" / "pipe_table.txt").read_bytes(), "pipe_table.txt")
    text = doc.frames["document_texts"]["text"][0]
    ld = doc.frames["leaders"]
    assert [(n, text[a:b]) for n, a, b in ld.select("name", "char_start", "char_end").rows()] == [
        ("钱宇", "钱 宇"), ("钱宇", "钱 宇"), ("王建国", "王建国"), ("李明华", "李明华"), ("刘洋", "刘 洋")]
