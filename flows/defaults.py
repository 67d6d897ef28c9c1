"""Defaults shared by the CLI and the flow (kept free of heavy imports: `fengong --help` reads them)."""

DEFAULT_WAREHOUSE = "warehouse/fengong.duckdb"
DEFAULT_CRON = "*/15 * * * *"  # fengong serve: every 15 minutes
DEFAULT_DEPLOYMENT = "fengong-scheduled"
# The seed notices are 20-44 KB; parsing costs about 1 s and 30 MB of memory per MB of text, so a file
# over this is not one notice. It is quarantined unread ("split it").
DEFAULT_MAX_FILE_MB = 5.0
DEFAULT_LOCK_WAIT_S = 3600.0  # how long a run waits for the run holding the warehouse lock
# Seconds a run spends on task links (warehouse/links.py) before it leaves the remaining jurisdictions
# to the next runs. Linking costs ~70 ms of CPU per notice (TF-IDF and evidence per jurisdiction), more
# than parsing it: a national rebuild would otherwise spend most of its time here (bench/RESULTS.md).
DEFAULT_LINKS_BUDGET_S = 60.0
# CPU seconds one notice may take to parse before it is quarantined ("took longer than … to parse"): a
# cooperative deadline the parser checks in its loops, so it holds in threads, process pools and Dask
# (transforms/timeout.py). A 5 MB notice of 34,000 items takes about 7 s.
from transforms.timeout import DEFAULT_SECONDS as DEFAULT_PARSE_TIMEOUT_S  # noqa: E402
