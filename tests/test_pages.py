"""Real pages saved badly: the whole page on one line, with its line breaks turned into spaces or
dropped. The real notices of tests/realset must read the same way as the page itself."""

from pathlib import Path

import pytest
from conftest import roles_by_item

from transforms.blocks import split_lines
from transforms.document import parse_document
from transforms.text import unfolded_view

REALSET = Path(__file__).parent / "realset" / "raw"
# notices of several layouts: bare brackets, labelled lines, role sentences, a leader heading
NOTICES = ["213_zhenhai-2011-gwr-paren-units.txt", "105_anshan-2024-gwr-labelled-lines.txt",
           "311_hunan-c2004-other-fanzhu-youqiantou-phrase.txt", "201_shengsi-2023-gwr-leader-groups.txt"]


def parse(text: str, name: str):
    return parse_document(text.encode("utf-8"), name)


@pytest.mark.parametrize("name", NOTICES)
def test_a_page_on_one_line_with_spaces_for_line_breaks_reads_like_the_page(name):
    text = (REALSET / name).read_text(encoding="utf-8")
    assert roles_by_item(parse(text.replace("\n", " "), name)) == roles_by_item(parse(text, name))


def test_a_page_with_its_line_breaks_dropped_breaks_before_each_number_after_a_sentence():
    # (an inner list after ; would be cut too: on such a page a sentence end is all there is to go by)
    line = "1.区属GDP增长12%。(区发改局)2.财政收入增长12%。(区财政局)3.重点抓好招商引资。(区商务局)"
    line = line + "。" * (200 - len(line))
    assert [ln.text[:2] for ln in split_lines(line, one_line_page=True)] == ["1.", "2.", "3."]
    assert [ln.start for ln in split_lines(line, one_line_page=True)] == [0, line.index("2."), line.index("3.")]


def test_an_ordinary_long_line_keeps_its_inner_list():
    line = "3.重点抓好两件事。1.招商;2.引资。" + "。" * 200
    assert len(split_lines(line)) == 1


def test_an_ordinary_page_is_not_unfolded():
    text = "一、重点工作\n1.推进城市更新。(牵头单位:市 住建局)\n" * 3
    assert unfolded_view(text) == text


def test_unfolding_keeps_every_offset():
    text = "关于印发的通知 " + "1.推进城市更新。(牵头单位:市住建局)  " * 20
    view = unfolded_view(text)
    assert len(view) == len(text) and view.replace("\n", " ") == text and "\n" in view


def test_regression_a_short_place_name_inside_a_word_is_not_the_notices_place():
    # 307, a repost of the State Council's notice: 乡村振兴 made it 振兴区 (丹东市), named nowhere else
    doc = parse_document((REALSET / "307_guowuyuan-2018-gwr-repost-roman-numbering.txt").read_bytes(), "307.txt")
    assert doc.frames["documents"]["jurisdiction"][0] == "全国"
