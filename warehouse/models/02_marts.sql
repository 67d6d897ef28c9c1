-- Marts: the questions analysts ask first. Documented in warehouse/models/README.md.

-- Every (unit, function) pair, with the function's names.
CREATE OR REPLACE VIEW v_unit_functions AS
SELECT u.unit_id, u.jurisdiction, u.name, f.code AS function_code, f.name_zh, f.name_en
FROM units u, unnest(u.functions) AS t(code)
JOIN functions f ON f.code = t.code;

-- Which departments carry the most items, per jurisdiction and role.
CREATE OR REPLACE VIEW v_department_load AS
SELECT jurisdiction, unit_id, unit_name,
       count(DISTINCT item_id) FILTER (WHERE role = 'lead')         AS items_led,
       count(DISTINCT item_id) FILTER (WHERE role = 'co')           AS items_co,
       count(DISTINCT item_id) FILTER (WHERE role = 'responsible')  AS items_responsible,
       count(DISTINCT item_id) FILTER (WHERE role = 'overall_lead') AS items_overall_lead,
       count(DISTINCT item_id)                                      AS items_total,
       count(DISTINCT doc_id)                                       AS documents
FROM v_assignments
WHERE mention_kind = 'unit'
GROUP BY ALL;

-- For each function, how many items each city's units lead, across all loaded documents.
-- Each unit's functions are unnested before the join (a few rows per unit), not per assignment,
-- and only what is read is joined (every assignment points to an item: the contracts check it).
CREATE OR REPLACE VIEW v_function_leads AS
SELECT f.code AS function_code, f.name_zh AS function_zh, d.jurisdiction,
       count(DISTINCT a.item_id) AS items_led, count(DISTINCT a.doc_id) AS documents
FROM assignments a
JOIN documents d USING (doc_id)
JOIN (SELECT unit_id, unnest(functions) AS code FROM units) uf ON uf.unit_id = a.unit_id
JOIN functions f ON f.code = uf.code
WHERE a.role = 'lead'
GROUP BY ALL;

-- Items with the exact source text they were parsed from.
CREATE OR REPLACE VIEW v_item_sources AS
SELECT i.doc_id, d.jurisdiction, d.period_year, i.item_id, i.item_kind, i.item_no, i.parent_nos,
       i.char_start, i.char_end,
       substring(t.text, i.char_start + 1, i.char_end - i.char_start) AS source_text
FROM items i JOIN documents d USING (doc_id) JOIN document_texts t USING (doc_id);
