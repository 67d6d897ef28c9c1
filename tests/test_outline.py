"""The outline as printed: numbering styles, nesting, runs and table rows."""

from transforms.document import parse_text
from transforms.outline import parse_outline


def shape(text):
    return [(n.style, n.no, n.parent.no if n.parent else None, n.run) for n in parse_outline(text).nodes]


def test_styles_nest_in_order_of_appearance():
    text = "一、总则\n(一)约束性指标。\n1.甲。\n2.乙。\n(二)预期性指标。\n1.丙。\n二、任务\n"
    assert shape(text) == [("cn1", "一", None, 0), ("cn2", "一", "一", 0), ("ar", "1", "一", 0), ("ar", "2", "一", 0),
                           ("cn2", "二", "一", 0), ("ar", "1", "二", 0), ("cn1", "二", None, 0)]


def test_top_numbering_restart_starts_a_new_run():
    text = "一、加强领导。\n二、加强协调。\n附件\n一、主要目标\n(一)增长11%。\n"
    assert [r for *_, r in shape(text)] == [0, 0, 1, 1]


def test_group_headings_sit_between_levels():
    text = "(一)产业\n——推动集群(总牵头单位:区发改局)\n1.甲。\n2.乙。\n——未来产业\n3.丙。\n(二)创新\n4.丁。\n"
    assert shape(text) == [("cn2", "一", None, 0), ("group", "", "一", 0), ("ar", "1", "", 0), ("ar", "2", "", 0),
                           ("group", "", "一", 0), ("ar", "3", "", 0), ("cn2", "二", None, 0), ("ar", "4", "二", 0)]


def test_numbers_must_not_be_decimals():
    assert shape("1.5万亩高标准农田\n2.0%的增长\n") == []


def test_malformed_bracket_number_is_still_a_heading():
    assert [(s, n) for s, n, *_ in shape("五、要求\n一)制定方案。\n(二)推进落地。\n")] == [
        ("cn1", "五"), ("cn2", "一"), ("cn2", "二")]


def test_table_rows_need_the_next_number():
    text = "序号重点工作牵头单位协办单位\n1甲任务。市发改委\n2023131\n2乙任务。市财政局\n"
    assert [(s, n) for s, n, *_ in shape(text)] == [("row", "1"), ("row", "2")]


def test_glued_table_row_splits_lead_and_co_cells():
    text = "序号重点工作牵头单位协办单位\n1推进水网建设。市水利和湖泊局市住建局\n返湾湖湿地公园管理处\n2深化改革。市财政局\n"
    doc = parse_text(text, "t.txt")
    rows = doc.frames["assignments"].select("item_id", "role", "mention").rows()
    assert [r[1:] for r in rows] == [("lead", "市水利和湖泊局"), ("co", "市住建局"), ("co", "返湾湖湿地公园管理处"),
                                     ("lead", "市财政局")]
    assert doc.frames["quality_issues"].filter(check_name="ambiguous_cell_boundary").height == 0


def test_table_row_without_visible_boundary_is_flagged():
    text = "序号重点工作牵头单位协办单位\n1推进水网建设。市水利和湖泊局\n市住建局\n2深化改革。市财政局\n"
    doc = parse_text(text, "t.txt")
    assert [r[1:] for r in doc.frames["assignments"].select("item_id", "role", "mention").rows()] == [
        ("lead", "市水利和湖泊局"), ("co", "市住建局"), ("lead", "市财政局")]
    flags = doc.frames["quality_issues"].filter(check_name="ambiguous_cell_boundary")
    assert flags["item_id"].to_list() == [doc.frames["items"]["item_id"][0]]
