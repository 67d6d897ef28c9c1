"""The versioned domain data in transforms/data/ is well formed and self-consistent."""

import re

import yaml

from transforms import vocab


def test_every_function_code_used_by_the_alias_data_exists():
    codes = set(vocab.taxonomy().functions)
    used = {f for a in vocab.aliases().values() for f in a.functions}
    used |= {f for r in vocab.read_reviewed(vocab.DATA_DIR / "reviewed_aliases.csv").values() for f in r.functions}
    assert used <= codes


def test_taxonomy_has_a_code_and_both_names_for_every_function():
    d = yaml.safe_load((vocab.DATA_DIR / "functions.yaml").read_text(encoding="utf-8"))
    codes = [f["code"] for f in d["functions"]]
    assert len(codes) == len(set(codes)) and 40 <= len(codes) <= 80
    assert all(f["zh"] and f["en"] and (f.get("keywords") or f.get("suffixes")) for f in d["functions"])


def test_alias_canonicals_are_not_themselves_aliases_of_something_else():
    al = vocab.aliases()
    assert [a for a, e in al.items() if e.canonical in al and al[e.canonical].canonical != e.canonical] == []


def test_role_labels_map_to_known_roles():
    assert set(vocab.roles().labels.values()) == {"overall_lead", "lead", "co", "co_or_responsible", "leader",
                                                  "phrase", "deadline"}


def test_role_verbs_map_to_unit_roles_and_cues_have_a_weight():
    roles = vocab.roles()
    assert set(roles.phrase_verbs.values()) <= {"lead", "co", "co_or_responsible"}
    assert set(roles.cue_confidence) == {"label", "column", "star", "verb", "group", "bracket"}
    assert all(0 < w <= 1 for w in roles.cue_confidence.values())
    assert roles.group_lead_heading_re.match("省监察厅牵头的工作").group("units") == "省监察厅"


def test_regexes_in_the_data_compile():
    g = vocab.grammar()
    assert all(isinstance(r, re.Pattern) for r in g.collective_res)
    assert vocab.roles().first_listed_re.search("责任单位中位列第一者为牵头部门")
    assert vocab.roles().first_listed_re.search("(首位单位为牵头单位,下同)")
    assert vocab.roles().first_listed_re.search("列第一位者为牵头或汇总单位")


def test_parser_version_changes_with_the_data(tmp_path, monkeypatch):
    before = vocab.parser_version()
    copy = tmp_path / "data"
    copy.mkdir()
    for p in vocab.DATA_DIR.iterdir():
        (copy / p.name).write_bytes(p.read_bytes())
    (copy / "roles.yaml").write_text((copy / "roles.yaml").read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    monkeypatch.setattr(vocab, "DATA_DIR", copy)
    vocab.parser_version.cache_clear()
    try:
        assert vocab.parser_version() != before
    finally:
        vocab.parser_version.cache_clear()


def test_every_metric_names_a_unit_kind_and_every_unit_kind_holds_known_units():
    d = yaml.safe_load((vocab.DATA_DIR / "metrics.yaml").read_text(encoding="utf-8"))
    assert {m["unit"] for m in d["metrics"]} <= set(d["unit_kinds"])
    assert {u for us in d["unit_kinds"].values() for u in us} <= set(d["units"])
    assert {m["basis"] for m in d["metrics"]} <= {"annual_growth", "level", "share_of_gdp", "absolute"}
