-- Staging shapes over the loaded tables: one row per canonical unit and per alias.
-- A unit is resolved per document (doc_units); these views merge what all documents said.

-- Merging takes ~0.4 s on a national warehouse (164,000 units from 560,000 doc_units rows), too slow
-- to repeat in every analyst query that joins units: `units` reads mart_units, rebuilt from calc_units
-- at the end of every run that changed a document (warehouse/marts.py).
-- calc_units_in(parts, part): the units with hash(unit_id) % parts = part (a whole rebuild, a part at a
-- time); calc_units_of(ids): these units (a run's). The filter is inside the GROUP BY on purpose: DuckDB
-- does not push a filter on unit_id through the ordered aggregates, so a filter on the view read and
-- sorted every row of doc_units whatever the part (a 50,000-notice rebuild ran out of its 256 MB).
CREATE OR REPLACE MACRO calc_units_in(parts, part) AS TABLE
SELECT unit_id,
       any_value(jurisdiction)                    AS jurisdiction,
       any_value(name)                            AS name,
       any_value(kind)                            AS kind,
       any_value(functions ORDER BY len(functions) DESC) AS functions,
       bool_or(resolved)                          AS resolved,
       any_value(source ORDER BY resolved DESC)   AS source,
       count(DISTINCT doc_id)                     AS n_documents
FROM doc_units
WHERE hash(unit_id) % parts = part
GROUP BY unit_id;
CREATE OR REPLACE MACRO calc_units_of(ids) AS TABLE
SELECT unit_id,
       any_value(jurisdiction)                    AS jurisdiction,
       any_value(name)                            AS name,
       any_value(kind)                            AS kind,
       any_value(functions ORDER BY len(functions) DESC) AS functions,
       bool_or(resolved)                          AS resolved,
       any_value(source ORDER BY resolved DESC)   AS source,
       count(DISTINCT doc_id)                     AS n_documents
FROM doc_units
WHERE unit_id IN (SELECT unnest(ids))
GROUP BY unit_id;
CREATE OR REPLACE VIEW calc_units AS SELECT * FROM calc_units_in(1, 0);
CREATE TABLE IF NOT EXISTS mart_units AS SELECT * FROM calc_units LIMIT 0;
CREATE OR REPLACE VIEW units AS SELECT * FROM mart_units;

CREATE OR REPLACE VIEW unit_aliases AS
SELECT DISTINCT jurisdiction, alias, unit_id, source
FROM doc_unit_aliases;

-- Assignments with everything an analyst filters on, one row per unit mention.
CREATE OR REPLACE VIEW v_assignments AS
SELECT a.doc_id, d.province, d.jurisdiction, d.doc_kind, d.period_start, d.period_end, d.period_year,
       a.item_id, i.seq AS item_seq, i.item_kind, i.binding, i.item_no, i.parent_nos, i.text AS item_text,
       a.role, a.ord, a.mention, a.written, a.mention_kind, a.unit_id, u.name AS unit_name, u.functions,
       a.resolved, a.inherited, a.char_start, a.char_end
FROM assignments a
JOIN documents d USING (doc_id)
JOIN items i ON i.item_id = a.item_id
LEFT JOIN units u ON u.unit_id = a.unit_id;
