-- Staging shapes over the loaded tables: one row per canonical unit and per alias.
-- A unit is resolved per document (doc_units); these views merge what all documents said.

CREATE OR REPLACE VIEW units AS
SELECT unit_id,
       any_value(jurisdiction)                    AS jurisdiction,
       any_value(name)                            AS name,
       any_value(kind)                            AS kind,
       any_value(functions ORDER BY len(functions) DESC) AS functions,
       bool_or(resolved)                          AS resolved,
       any_value(source ORDER BY resolved DESC)   AS source,
       count(DISTINCT doc_id)                     AS n_documents
FROM doc_units
GROUP BY unit_id;

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
