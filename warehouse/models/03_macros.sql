-- Macros for analysts. Offsets are 0-based character offsets, end exclusive.

-- The source text between two offsets of a document: source_span('9f3c…', 120, 180)
CREATE OR REPLACE MACRO source_span(doc, a, b) AS (
    SELECT substring(text, a + 1, b - a) FROM document_texts WHERE doc_id = doc
);

-- The items a unit (by canonical name, within one jurisdiction) leads: FROM unit_items('潜江市', '市发展和改革委员会')
CREATE OR REPLACE MACRO unit_items(jur, unit_name_) AS TABLE
    SELECT doc_id, period_year, item_id, item_no, role, item_text
    FROM v_assignments
    WHERE jurisdiction = jur AND unit_name = unit_name_
    ORDER BY period_year, item_seq;

-- The page of a PDF, or the sheet and row of a spreadsheet, each item starts on (null for a
-- notice read from .txt, .html or .docx): the span of document_pages that holds its first character.
CREATE OR REPLACE VIEW v_item_sources AS
SELECT i.doc_id, i.item_id, i.item_no, i.parent_nos, i.char_start, p.page, p.sheet, p.sheet_row
FROM items i LEFT JOIN document_pages p
  ON p.doc_id = i.doc_id AND i.char_start >= p.char_start AND i.char_start < p.char_end;
