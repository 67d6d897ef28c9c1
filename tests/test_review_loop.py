"""An unresolved unit name goes to the review file; a reviewer's decision is applied on the next run."""

import csv
import subprocess

import duckdb

from test_cli import fengong_cmd

NOTICE = """关于印发2024年潜江市《政府工作报告》重点工作责任分解的通知
潜江市人民政府办公室
一、重点工作
1.做强小龙虾产业。(牵头单位:市虾稻产业链专班;责任单位:市农业农村局)
2.办好龙虾节。(牵头单位:市商务局)
"""


def run_once(work, env):
    r = subprocess.run(fengong_cmd() + ["run"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    con = duckdb.connect(str(work / "warehouse" / "fengong.duckdb"), read_only=True)
    row = con.execute("SELECT a.unit_id, a.resolved, u.functions FROM assignments a JOIN units u USING (unit_id) "
                      "WHERE a.mention = '市虾稻产业链专班'").fetchone()
    con.close()
    return r.stdout, row


def test_reviewer_decision_is_applied_on_the_next_run(tmp_path, cli_env):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "notice.txt").write_text(NOTICE, encoding="utf-8")
    decisions = tmp_path / "reviewed_aliases.csv"
    decisions.write_text("jurisdiction,alias,canonical,functions,note\n", encoding="utf-8")
    env = dict(cli_env, FENGONG_REVIEWED_ALIASES=str(decisions))

    out, row = run_once(tmp_path, env)
    assert "1 unresolved name(s)" in out
    assert row == ("潜江市:市虾稻产业链专班", False, [])
    with (tmp_path / "warehouse" / "review" / "unresolved_units.csv").open(encoding="utf-8") as fh:
        (listed,) = list(csv.DictReader(fh))
    assert (listed["jurisdiction"], listed["mention"]) == ("潜江市", "市虾稻产业链专班")
    assert "做强小龙虾产业" in listed["context"]

    with decisions.open("a", encoding="utf-8") as fh:
        fh.write("潜江市,市虾稻产业链专班,市虾稻产业链工作专班,agriculture_rural,reviewed in test\n")
    out, row = run_once(tmp_path, env)
    assert "0 unresolved name(s)" in out
    assert row == ("潜江市:市虾稻产业链工作专班", True, ["agriculture_rural"])
