-- fengong warehouse: tables written by the loader. Idempotent (CREATE … IF NOT EXISTS).
-- Document-scoped tables carry doc_id; a document's rows are replaced together in one transaction.
-- Offsets (char_start, char_end) index into document_texts.text, counted in characters.
-- Document-scoped tables declare no PRIMARY KEY on purpose: DuckDB checks unique indexes eagerly,
-- so deleting and re-inserting a document's keys in one transaction would fail. Uniqueness of
-- doc_id / item_id is checked by the pandera contracts and the Great Expectations suite instead.

CREATE TABLE IF NOT EXISTS documents (
    doc_id            VARCHAR NOT NULL,      -- first 16 hex of the file's sha256
    source_file       VARCHAR NOT NULL,      -- path relative to raw/
    sha256            VARCHAR NOT NULL,
    title             VARCHAR,
    issuer            VARCHAR,
    jurisdiction      VARCHAR,               -- 潜江市, 江夏区 …
    jurisdiction_code VARCHAR,               -- GB/T 2260 division code
    province          VARCHAR,
    admin_level       VARCHAR,               -- province | prefecture | county | district
    doc_kind          VARCHAR,               -- fyp | gwr
    period_start      INTEGER,
    period_end        INTEGER,
    period_year       INTEGER,               -- partition key (= period_start)
    published_on      DATE,
    issued_on         DATE,
    doc_number        VARCHAR,               -- 丹政办发〔2022〕8号
    index_no          VARCHAR,               -- 索引号
    role_rule         VARCHAR,               -- as_labelled | first_listed_leads
    encoding          VARCHAR,
    n_chars           BIGINT,
    parser_version    VARCHAR,
    incomplete        BOOLEAN,               -- the parser dropped a cut-off last item
    loaded_at         TIMESTAMP DEFAULT current_timestamp
);
-- warehouses created before the parser flagged cut-off notices
ALTER TABLE documents ADD COLUMN IF NOT EXISTS incomplete BOOLEAN;

CREATE TABLE IF NOT EXISTS document_texts (
    doc_id VARCHAR NOT NULL,
    text   VARCHAR NOT NULL                  -- the normalised text every offset points into
);

-- where a span of the text comes from in a PDF (page) or a spreadsheet (sheet, sheet_row, 1-based
-- as the spreadsheet shows it); no rows for .txt, .html and .docx. v_item_sources joins it to items.
CREATE TABLE IF NOT EXISTS document_pages (
    doc_id VARCHAR NOT NULL, char_start BIGINT NOT NULL, char_end BIGINT NOT NULL,
    page INTEGER, sheet VARCHAR, sheet_row INTEGER
);

CREATE TABLE IF NOT EXISTS sections (
    doc_id VARCHAR NOT NULL, section_id VARCHAR NOT NULL, seq INTEGER, style VARCHAR, item_no VARCHAR,
    parent_nos VARCHAR[], parent_section_id VARCHAR, title VARCHAR, char_start BIGINT, char_end BIGINT
);

CREATE TABLE IF NOT EXISTS items (
    doc_id      VARCHAR NOT NULL,
    item_id     VARCHAR NOT NULL,
    seq         INTEGER NOT NULL,           -- order in the document
    section_id  VARCHAR,                    -- nearest enclosing heading or —— group
    item_kind   VARCHAR NOT NULL,           -- indicator | target | task | project
    binding     VARCHAR,                    -- 约束性 | 预期性
    item_no     VARCHAR,                    -- as printed, without punctuation: '5', '三'
    parent_nos  VARCHAR[],                  -- enclosing numbers, outermost first
    text        VARCHAR,
    char_start  BIGINT, char_end BIGINT,    -- the whole item, number to last unit
    text_start  BIGINT, text_end BIGINT,    -- the item text alone
    layout      VARCHAR,                    -- labelled | table
    num_style   VARCHAR,                    -- cn1 | cn2 | ar | ar2 | row
    deadline_text VARCHAR,                  -- 完成时限 as written: '6月底前', '年内持续推进'
    deadline_date DATE                      -- the last day it is due by, when the text names one
);
-- warehouses created before deadlines were extracted
ALTER TABLE items ADD COLUMN IF NOT EXISTS deadline_text VARCHAR;
ALTER TABLE items ADD COLUMN IF NOT EXISTS deadline_date DATE;

CREATE TABLE IF NOT EXISTS assignments (
    doc_id       VARCHAR NOT NULL,
    item_id      VARCHAR NOT NULL,
    role         VARCHAR NOT NULL,          -- overall_lead | lead | co | responsible
    ord          INTEGER NOT NULL,          -- position in its role list
    mention      VARCHAR NOT NULL,          -- full name after splitting and expansion
    written      VARCHAR,                   -- the span as printed
    mention_kind VARCHAR,                   -- unit | collective
    unit_id      VARCHAR,
    resolved     BOOLEAN,
    inherited    BOOLEAN,                   -- overall_lead inherited from a —— group heading
    char_start   BIGINT, char_end BIGINT
);

CREATE TABLE IF NOT EXISTS indicators (
    doc_id       VARCHAR NOT NULL,
    item_id      VARCHAR NOT NULL,
    ord          INTEGER,                   -- position among the item's numbers
    source       VARCHAR,                   -- indicator | target | task_text
    metric       VARCHAR,                   -- the phrase as written
    metric_code  VARCHAR,                   -- transforms/data/metrics.yaml (other_* when not in the vocabulary)
    comparator   VARCHAR,                   -- = >= > <= < ~ (null when qualitative)
    value        DOUBLE,                    -- for a range 3-5: the low end, with value_low/value_high
    value_low    DOUBLE, value_high DOUBLE,
    value_unit   VARCHAR,                   -- %, 亿元, 万元/人, 亿斤, 个, 家 …
    basis        VARCHAR,                   -- annual_growth | level | share_of_gdp | absolute
    horizon_year INTEGER,
    target_text  VARCHAR,                   -- the original span
    char_start   BIGINT, char_end BIGINT,
    qualitative  BOOLEAN                    -- no number: 完成省下达任务, 与经济增长基本同步
);

CREATE TABLE IF NOT EXISTS leaders (
    doc_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, ord INTEGER, name VARCHAR NOT NULL,
    char_start BIGINT, char_end BIGINT
);

CREATE TABLE IF NOT EXISTS quality_issues (
    doc_id VARCHAR, item_id VARCHAR, severity VARCHAR, check_name VARCHAR, message VARCHAR
);

-- Rows of a loaded document that failed a pandera contract (validation/models.py), set aside instead
-- of loaded, with the rows that depended on them (like dbt's stored test failures). Replaced with the
-- document's other rows, deleted with them by prune. One row per failing row and check.
CREATE TABLE IF NOT EXISTS rejected_rows (
    doc_id      VARCHAR NOT NULL,
    source_file VARCHAR,                    -- the file the document was parsed from
    frame       VARCHAR NOT NULL,           -- the frame (table or view) it was meant for: items, assignments, units …
    row_no      BIGINT,                     -- its position in the parsed frame
    check_name  VARCHAR,                    -- the pandera check, or parent_rejected
    column_name VARCHAR,                    -- null for a check on the whole row
    "row"       VARCHAR,                    -- the row as JSON text (quoted: ROW is a keyword)
    reason      VARCHAR,                    -- mention '镇' fails the check str_length(2, None); its item was rejected
    loaded_at   TIMESTAMP DEFAULT current_timestamp
);

-- Units as each document resolved them; `units` and `unit_aliases` (views) merge them.
CREATE TABLE IF NOT EXISTS doc_units (
    doc_id VARCHAR NOT NULL, unit_id VARCHAR NOT NULL, jurisdiction VARCHAR, name VARCHAR, kind VARCHAR,
    functions VARCHAR[], resolved BOOLEAN, source VARCHAR
);

CREATE TABLE IF NOT EXISTS doc_unit_aliases (
    doc_id VARCHAR NOT NULL, jurisdiction VARCHAR, alias VARCHAR, unit_id VARCHAR, source VARCHAR
);

CREATE TABLE IF NOT EXISTS functions (
    code VARCHAR PRIMARY KEY, name_zh VARCHAR, name_en VARCHAR, party BOOLEAN
);

CREATE TABLE IF NOT EXISTS quarantine (
    source_file VARCHAR, sha256 VARCHAR, stage VARCHAR, reason VARCHAR, details VARCHAR,
    "at" TIMESTAMP DEFAULT current_timestamp  -- quoted: AT is a keyword
);

CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, files_seen INTEGER,
    parsed INTEGER, quarantined INTEGER, loaded INTEGER, skipped INTEGER, parser_version VARCHAR
);

-- Operations (incremental runs, retire/prune). Added with ALTER … IF NOT EXISTS so that a warehouse
-- file created before them is upgraded in place on the next run; a new file gets them the same way.

-- Every name under raw/ whose content is loaded, one row per name: the same content under two names
-- is one document with two rows here. A name no longer in raw/ gets retired_at; `fengong prune`
-- deletes it (and its document, once no current name points to it).
CREATE TABLE IF NOT EXISTS document_files (
    source_file VARCHAR NOT NULL,           -- path relative to raw/
    doc_id      VARCHAR NOT NULL,
    sha256      VARCHAR NOT NULL,
    first_seen  TIMESTAMP,
    last_seen   TIMESTAMP,                  -- the last run that bound this name to this content
    retired_at  TIMESTAMP                   -- null while the file is in raw/
);
-- size and mtime of the file when it was last hashed: unchanged, it is not read again (rsync's quick check)
ALTER TABLE document_files ADD COLUMN IF NOT EXISTS size_bytes BIGINT;
ALTER TABLE document_files ADD COLUMN IF NOT EXISTS mtime_ns BIGINT;
ALTER TABLE documents ADD COLUMN IF NOT EXISTS retired_at TIMESTAMP;          -- every name retired
ALTER TABLE documents ADD COLUMN IF NOT EXISTS decisions_version VARCHAR;     -- reviewer decisions applied
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS parser_version VARCHAR;
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS decisions_version VARCHAR;
-- documents loaded before document_files existed: their one name
INSERT INTO document_files BY NAME
SELECT source_file, doc_id, sha256, loaded_at AS first_seen, loaded_at AS last_seen, retired_at FROM documents d
WHERE NOT EXISTS (SELECT 1 FROM document_files f WHERE f.doc_id = d.doc_id);

-- The run log: one row per `fengong run` (scheduled or manual) and per `fengong prune`.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS command VARCHAR;          -- run | prune
ALTER TABLE runs ADD COLUMN IF NOT EXISTS new_files INTEGER;        -- names not seen before
ALTER TABLE runs ADD COLUMN IF NOT EXISTS changed_files INTEGER;    -- known names with new content
ALTER TABLE runs ADD COLUMN IF NOT EXISTS reprocessed INTEGER;      -- unchanged, parsed again (--force, new parser or decisions)
ALTER TABLE runs ADD COLUMN IF NOT EXISTS linked INTEGER;           -- names whose content was already loaded
ALTER TABLE runs ADD COLUMN IF NOT EXISTS retired INTEGER;          -- names gone from raw/ in this run
ALTER TABLE runs ADD COLUMN IF NOT EXISTS pruned INTEGER;           -- documents deleted by prune
ALTER TABLE runs ADD COLUMN IF NOT EXISTS data_changed BOOLEAN;     -- did this run change any document?
ALTER TABLE runs ADD COLUMN IF NOT EXISTS forced BOOLEAN;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS decisions_version VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS raw_dir VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS triggered_by VARCHAR;     -- manual | deployment <name>
ALTER TABLE runs ADD COLUMN IF NOT EXISTS flow_run_id VARCHAR;      -- the Prefect flow run
ALTER TABLE runs ADD COLUMN IF NOT EXISTS host VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS pid INTEGER;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS waited_s DOUBLE;          -- time spent waiting for another run's lock

-- the evidence behind each assignment and how sure an item's roles are (transforms/document.py mention_roles)
ALTER TABLE assignments ADD COLUMN IF NOT EXISTS cue VARCHAR;    -- label | verb | bracket | column | group | star
ALTER TABLE assignments ADD COLUMN IF NOT EXISTS rule VARCHAR;   -- as_written | star | lead_elsewhere | first_listed_leads | single_unit | none
ALTER TABLE items ADD COLUMN IF NOT EXISTS confidence DOUBLE;    -- the weakest cue behind its roles (roles.yaml cue_confidence)

-- Task links (transforms/links.py, refreshed per jurisdiction by warehouse/links.py with the marts):
-- one row per link fengong stands behind, from an item of an annual notice (gwr) to an item of the
-- same jurisdiction's five-year division whose period covers that year (to_doc_kind fyp) or of its
-- previous annual notice (gwr). Jurisdiction-scoped, like the marts: a jurisdiction's rows are
-- replaced together whenever any of its documents changes. e_* are the evidence values (0-1) behind
-- the score, weighted by transforms/data/links.yaml.
CREATE TABLE IF NOT EXISTS task_links (
    jurisdiction  VARCHAR NOT NULL,
    from_doc_id   VARCHAR NOT NULL,
    from_item_id  VARCHAR NOT NULL,          -- the annual item that carries the work out
    to_doc_id     VARCHAR NOT NULL,
    to_item_id    VARCHAR NOT NULL,          -- the five-year (or earlier annual) item it carries out
    to_doc_kind   VARCHAR NOT NULL,          -- fyp | gwr
    score         DOUBLE NOT NULL,           -- the weighted evidence (>= the threshold in links.yaml)
    strength      VARCHAR NOT NULL,          -- same: restated / the same measured quantity; step: a concrete step
    evidence      VARCHAR NOT NULL,          -- what matched, readable: "names 汉江; lead 市生态环境局; text 0.56"
    "rank"        INTEGER NOT NULL,          -- 1 = the best link of the annual item into that document
    e_tfidf DOUBLE, e_clause DOUBLE, e_entity DOUBLE, e_metric DOUBLE, e_lead_unit DOUBLE,
    e_lead_function DOUBLE, e_unit_name DOUBLE, e_heading DOUBLE, e_sentence DOUBLE, e_project DOUBLE
);
-- e_sentence came with links version 2: a warehouse built before it gains the column (its rows are
-- recomputed at the next run, the links' version being part of the marts' fingerprint)
ALTER TABLE task_links ADD COLUMN IF NOT EXISTS e_sentence DOUBLE;
-- per jurisdiction, the fingerprint of its documents (and the rules) its task_links were computed from;
-- a jurisdiction whose current fingerprint differs is pending (warehouse/links.py: a run links pending
-- jurisdictions for at most its links budget, and the next runs go on)
CREATE TABLE IF NOT EXISTS links_state (jurisdiction VARCHAR, state VARCHAR);
