"""Prefect flows and the CLI. Imported before polars in every fengong process, so that:"""

import os

# polars allocates through jemalloc, which by default keeps freed pages for 10 s: a parse worker
# held ~30% more memory than it used (one process parsing 1,000 notices peaked at 357 MB, and at
# 277 MB with pages returned at once, for no more CPU). Pool workers inherit the setting.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
