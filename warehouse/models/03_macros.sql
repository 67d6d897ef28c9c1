-- Macros for analysts. Offsets are 0-based character offsets, end exclusive.

-- The source text between two offsets of a document: source_span('9f3c…', 120, 180)
CREATE OR REPLACE MACRO source_span(doc, a, b) AS (
    SELECT substring(text, a + 1, b - a) FROM document_texts WHERE doc_id = doc
);

-- The items a unit (by canonical name, within one jurisdiction) is named on, in any role, by notice
-- and year: FROM unit_items('潜江市', '市发展和改革委员会')
CREATE OR REPLACE MACRO unit_items(jur, unit_name_) AS TABLE
    SELECT doc_id, doc_kind, period_year, item_id, item_no, role, item_text
    FROM v_assignments
    WHERE jurisdiction = jur AND unit_name = unit_name_
    ORDER BY period_year, item_seq;
