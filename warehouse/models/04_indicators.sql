-- Indicators and targets, comparable across cities and years.

-- One row per jurisdiction × metric_code × period (the first number the notice states for it).
-- unit_differs flags a row whose unit is not the metric's usual unit (a % never silently sits beside 亿元).
CREATE OR REPLACE VIEW v_indicator_compare AS
WITH ranked AS (
    SELECT d.province, d.jurisdiction, d.doc_kind, d.period_start, d.period_end, i.metric_code, i.metric,
           i.basis, i.comparator, i.value, i.value_low, i.value_high, i.value_unit, i.horizon_year,
           i.qualitative, i.target_text, i.source, i.doc_id, i.item_id,
           count(*) OVER w AS n_values
    FROM indicators i JOIN documents d USING (doc_id) JOIN items it ON it.item_id = i.item_id
    WHERE i.source IN ('indicator', 'target') AND i.metric_code NOT LIKE 'other%'
    WINDOW w AS (PARTITION BY d.jurisdiction, i.metric_code, d.period_start, d.period_end)
    QUALIFY row_number() OVER (PARTITION BY d.jurisdiction, i.metric_code, d.period_start, d.period_end
                               ORDER BY it.seq, i.ord) = 1
)
SELECT r.*,
       r.value_unit IS DISTINCT FROM mode(r.value_unit) OVER (PARTITION BY r.metric_code)
           AND r.value_unit IS NOT NULL AS unit_differs
FROM ranked r;
