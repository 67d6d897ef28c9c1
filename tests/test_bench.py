"""The benchmark's corpus generator, its truth and the scorer (bench/), on a few notices."""

import json
import re
import sys

import duckdb
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import make_corpus  # noqa: E402
import queries  # noqa: E402
import score  # noqa: E402

N = 24


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    make_corpus.make_corpus(seed=11, docs=N, out=out, quiet=True)
    return out


@pytest.fixture(scope="module")
def loaded(corpus, tmp_path_factory):
    """The corpus parsed, validated and loaded the way the flow does it, without Prefect."""
    from transforms.batch import SourceFile, parsed_batch
    from validation.batch import concat_frames, validated_batch
    from warehouse import inbox
    from warehouse import load as wh

    path = tmp_path_factory.mktemp("wh") / "bench.duckdb"
    con = wh.connect(path)
    raw = corpus / "raw"
    result = validated_batch(parsed_batch(inbox.read_files(inbox.discover(raw), raw), reviewed={}))
    assert wh.load_documents(con, result.parsed) == []
    con.close()
    return path, result


def test_a_notice_depends_only_on_seed_and_number():
    assert make_corpus.make_notice(3, 17) == make_corpus.make_notice(3, 17)
    assert make_corpus.make_notice(3, 17)[2] != make_corpus.make_notice(4, 17)[2]


def test_notices_are_20_to_60_kb_and_use_every_layout(corpus):
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    sizes = [p.stat().st_size for p in (corpus / "raw").iterdir()]
    assert len(sizes) == N and all(20_000 <= s <= 60_000 for s in sizes)
    assert set(manifest["families"]) == set(make_corpus.FAMILIES)


def test_truth_has_one_line_per_item_in_the_expected_format(corpus):
    truth = sorted((corpus / "truth").glob("*.jsonl"))
    assert len(truth) == N
    lines = [json.loads(x) for x in truth[0].read_text(encoding="utf-8").splitlines()]
    assert set(lines[0]["doc"]) >= {"jurisdiction", "jurisdiction_code", "doc_kind", "period_start", "role_rule"}
    for item in lines[1:]:
        assert set(item) == {"parent_nos", "item_no", "kind", "binding", "starts", "lead", "co", "responsible",
                             "overall_lead", "leaders"}
        assert item["lead"] or item["responsible"]


def test_a_suffix_written_once_is_expanded_in_the_truth():
    rng = make_corpus.random.Random(1)
    place = next(p for p in make_corpus.jurisdictions() if p.name == "江夏区")
    units = make_corpus.make_units(rng, place)
    style = make_corpus.Style(False, 1.0, 0.0, 0.0, "责任单位", "责任单位", "牵头单位", False, ".")
    written, mentions = make_corpus._dept_group(rng, units, style, ["发改局", "科经局", "商务局"])
    assert written == "区发改、科经、商务局"
    assert mentions == ["区发改局", "区科经局", "区商务局"]


def test_the_parser_scores_near_perfectly_on_what_it_is_meant_to_read(corpus, loaded):
    path, result = loaded
    assert result.quarantined == []
    s = score.score_warehouse(path, corpus / "truth")
    assert s["documents"]["loaded"] == N
    assert s["items"]["f1"] >= 0.999
    assert s["assignments"]["f1"] >= 0.99
    assert s["leaders"]["f1"] == 1.0


def test_the_scorer_counts_what_is_missing_and_what_is_spurious(corpus, loaded, tmp_path):
    path, _ = loaded
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(path.read_bytes())
    con = duckdb.connect(str(broken))
    before = score.score_warehouse(path, corpus / "truth")["assignments"]
    n_lead = con.execute("SELECT count(*) FROM assignments WHERE role = 'lead' AND ord = 1").fetchone()[0]
    con.execute("UPDATE assignments SET mention = mention || '?' WHERE role = 'lead' AND ord = 1")
    con.close()
    after = score.score_warehouse(broken, corpus / "truth")["assignments"]
    assert after["parsed"] == before["parsed"] and after["truth"] == before["truth"]
    assert before["matched"] - after["matched"] == n_lead


def test_the_benchmark_runs_the_readme_analyst_queries():
    names = [name for name, _ in queries.readme_queries()]
    assert len(names) == 5 and any("v_indicator_compare" in n for n in names)


def test_regression_the_benchmark_clocked_functions_the_flow_no_longer_calls(corpus, tmp_path, cli_env):
    """bench/flow_timings.py wrapped flows.pipeline.write_review_file and friends after the flow body had
    moved to flows/ops.py (since: warehouse/ and the flow's tasks), and the benchmark failed to start. It runs the real CLI and times every step."""
    import subprocess

    import run as bench_run

    timings = tmp_path / "t.json"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "flow_timings.py"), str(timings), "run", "--raw",
                        str(corpus / "raw"), "--allow-outside-raw", "--warehouse", str(tmp_path / "w.duckdb"),
                        "--json"], env=cli_env, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    t = json.loads(timings.read_text(encoding="utf-8"))
    assert {e[0] for e in t["events"]} == {"discover", "staging", "read", "parse", "validate", "load", "marts",
                                           "publish", "review"}
    st = bench_run.stage_times(t)
    assert 0 < st["body"] < st["flow_call"] and st["orchestration"] >= 0


def _new_layout_notices(seed: int = 5, per_family: int = 2):
    """The first notices of the families added for tests/fixtures/layouts/, and the first traditional one."""
    picked, traditional = {"gwr_phrases": [], "gwr_table": []}, None
    for i in range(400):
        notice = make_corpus.make_notice(seed, i)
        fam, doc = notice[1], notice[3]
        if fam in picked and len(picked[fam]) < per_family and doc["script"] == "simplified":
            picked[fam].append(notice)
        if doc["script"] == "traditional" and traditional is None:
            traditional = notice
        if traditional and all(len(v) == per_family for v in picked.values()):
            break
    return picked["gwr_phrases"] + picked["gwr_table"] + [traditional]


def test_the_corpus_writes_the_layouts_of_the_layout_fixtures():
    notices = _new_layout_notices()
    text = {n[1] + ":" + n[3]["script"]: n[2].decode(n[3]["encoding"]) for n in notices}
    phrases = text["gwr_phrases:simplified"]
    for mark in ("牵头[,,].+按职责分工负责|牵头[,,].+配合", "主办[::].+ 协办[::]", "牵头部门[::].+[,,]配合部门[::]",
                 "★", "^配合单位[::]"):
        assert re.search(mark, phrases, re.M), mark
    assert re.search(r"^\| \d+ \| .+ \|$", text["gwr_table:simplified"], re.M)
    assert "牽頭" in text["gwr_phrases:traditional"]


def test_the_new_layouts_parse_exactly_as_their_truth():
    """Items, roles and leaders of a few notices of the new families (one in traditional characters)
    against the generator's truth, compared item by item: F1 = 1.0 on these notices."""
    from transforms.document import parse_document

    for stem, family, data, doc_truth, truth in _new_layout_notices():
        doc = parse_document(data, stem + ".txt")
        asg, ld = doc.frames["assignments"], doc.frames["leaders"]
        got = []
        for it in doc.frames["items"].iter_rows(named=True):
            a = asg.filter(asg["item_id"] == it["item_id"]).sort("role", "ord")
            roles = {r: a.filter(a["role"] == r)["mention"].to_list() for r in ("lead", "co", "responsible",
                                                                               "overall_lead")}
            got.append({"parent_nos": it["parent_nos"], "item_no": it["item_no"], "kind": it["item_kind"],
                        "binding": it["binding"], "starts": it["text"][:10], **roles,
                        "leaders": ld.filter(ld["item_id"] == it["item_id"])["name"].to_list()})
        assert got == truth, (stem, family, doc_truth["script"])
