-- Marts: the questions analysts ask first. Documented in warehouse/models/README.md.

-- Every (unit, function) pair, with the function's names.
CREATE OR REPLACE VIEW v_unit_functions AS
SELECT u.unit_id, u.jurisdiction, u.name, f.code AS function_code, f.name_zh, f.name_en
FROM units u, unnest(u.functions) AS t(code)
JOIN functions f ON f.code = t.code;

-- Which departments carry the most items, per jurisdiction and role; and for each function, how many
-- items each city's units lead. Both are split by notice kind and year (doc_kind, period_year), so
-- "this year's load" is one filter away; an item belongs to one document, so summing over kinds and
-- years counts every item once. Analysts read v_department_load and v_function_leads: tables
-- refreshed per jurisdiction at the end of each run (warehouse/marts.py), because counting distinct
-- items over every assignment takes seconds on a national warehouse. The definitions are these table
-- macros, over the documents of the jurisdictions listed (coalesce(jurisdiction, '') IN jurs).
-- Every count is within one jurisdiction, so refreshing only the jurisdictions that changed is exact.

-- The documents of some jurisdictions (the refresh scope).
CREATE OR REPLACE MACRO scope_documents(jurs) AS TABLE
    SELECT * FROM documents WHERE list_contains(jurs, coalesce(jurisdiction, ''));

-- `docs` (optional): the doc_ids of those jurisdictions, for a refresh of a few documents. A constant
-- list is tested in the scan of assignments, which then reads the other columns of those rows only;
-- the join with the documents reads every column of every row first (0.65 s against 0.22 s for a
-- 12-document jurisdiction of 22 M assignments). A long list costs more per row than the join.
-- An item counts once per (unit, role), however often the unit is written on it.
CREATE OR REPLACE MACRO calc_department_load(jurs, docs := NULL) AS TABLE
    WITH d AS (SELECT doc_id, jurisdiction, province, doc_kind, period_year FROM scope_documents(jurs)),
    x AS (SELECT DISTINCT doc_id, item_id, unit_id, role FROM assignments
          WHERE mention_kind = 'unit'
            AND CASE WHEN docs IS NULL THEN doc_id IN (SELECT doc_id FROM d) ELSE list_contains(docs, doc_id) END)
    SELECT d.jurisdiction, d.province, d.doc_kind, d.period_year, x.unit_id, any_value(u.name) AS unit_name,
           count(*) FILTER (WHERE x.role = 'lead')         AS items_led,
           count(*) FILTER (WHERE x.role = 'co')           AS items_co,
           count(*) FILTER (WHERE x.role = 'responsible')  AS items_responsible,
           count(*) FILTER (WHERE x.role = 'overall_lead') AS items_overall_lead,
           count(DISTINCT x.item_id)                       AS items_total,
           count(DISTINCT x.doc_id)                        AS documents
    FROM x JOIN d USING (doc_id)
    LEFT JOIN units u ON u.unit_id = x.unit_id
    GROUP BY d.jurisdiction, d.province, d.doc_kind, d.period_year, x.unit_id;

-- An item counts once under each function its lead units perform: items_led. A merged agency
-- (科技经信局: science and industry) puts its items under both functions, so a total across functions
-- adds items_led_share instead: each item's 1 split evenly over the distinct functions of its leads.
-- The functions of the units these assignments name are unnested before the join (a few rows per
-- unit), not per assignment, and not those of every unit (0.2 s at 50,000 notices).
CREATE OR REPLACE MACRO calc_function_leads(jurs, docs := NULL) AS TABLE
    WITH d AS (SELECT doc_id, jurisdiction, province, doc_kind, period_year FROM scope_documents(jurs)),
    a AS (SELECT doc_id, item_id, unit_id FROM assignments
          WHERE role = 'lead'
            AND CASE WHEN docs IS NULL THEN doc_id IN (SELECT doc_id FROM d) ELSE list_contains(docs, doc_id) END),
    f AS (SELECT DISTINCT a.doc_id, a.item_id, uf.code
          FROM a JOIN (SELECT unit_id, unnest(functions) AS code FROM units
                       WHERE unit_id IN (SELECT unit_id FROM a)) uf ON uf.unit_id = a.unit_id
          WHERE uf.code IN (SELECT code FROM functions)),
    w AS (SELECT *, 1.0 / count(*) OVER (PARTITION BY item_id) AS share FROM f)
    SELECT fn.code AS function_code, fn.name_zh AS function_zh, d.jurisdiction, d.province, d.doc_kind,
           d.period_year, count(*) AS items_led, round(sum(w.share), 9) AS items_led_share,
           count(DISTINCT w.doc_id) AS documents
    FROM w JOIN d USING (doc_id)
    JOIN functions fn ON fn.code = w.code
    GROUP BY ALL;

-- The materialised marts and the views analysts query. A new warehouse gets empty tables here;
-- warehouse/marts.py fills them (and rebuilds them when a definition above changes).
CREATE TABLE IF NOT EXISTS mart_department_load AS SELECT * FROM calc_department_load([]) LIMIT 0;
CREATE TABLE IF NOT EXISTS mart_function_leads AS SELECT * FROM calc_function_leads([]) LIMIT 0;
CREATE TABLE IF NOT EXISTS mart_state (jurisdiction VARCHAR, state VARCHAR);
-- Which jurisdictions' documents name each unit: a unit's row in mart_units is recomputed when one
-- of them is refreshed (before and after the change, so a unit a deleted document named is too).
CREATE TABLE IF NOT EXISTS mart_unit_scope (unit_id VARCHAR, jurisdiction VARCHAR);
CREATE OR REPLACE VIEW v_department_load AS SELECT * FROM mart_department_load;
CREATE OR REPLACE VIEW v_function_leads AS SELECT * FROM mart_function_leads;

-- Items with the exact source text they were parsed from, and the page of a PDF, or the sheet and
-- row of a spreadsheet, each starts on (null for a notice read from .txt, .html or .docx): the span of
-- document_pages that holds its first character.
CREATE OR REPLACE VIEW v_item_sources AS
SELECT i.doc_id, d.jurisdiction, d.doc_kind, d.period_year, i.item_id, i.item_kind, i.item_no, i.parent_nos,
       i.char_start, i.char_end,
       substring(t.text, i.char_start + 1, i.char_end - i.char_start) AS source_text,
       p.page, p.sheet, p.sheet_row
FROM items i JOIN documents d USING (doc_id) JOIN document_texts t USING (doc_id)
LEFT JOIN document_pages p
  ON p.doc_id = i.doc_id AND i.char_start >= p.char_start AND i.char_start < p.char_end;
