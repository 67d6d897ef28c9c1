-- Task links across notices: how a five-year plan comes back in the annual work reports.
-- task_links (schema.sql) is computed per jurisdiction by warehouse/links.py (transforms/links.py).

-- Each five-year item (doc_kind fyp): in which later years it came back, by which annual items, led by
-- which units; never_seen_again is true for an item no annual item links to.
CREATE OR REPLACE VIEW v_plan_followup AS
WITH plan AS (
    SELECT d.jurisdiction, d.province, d.period_start, d.period_end, i.doc_id, i.item_id, i.seq, i.item_kind,
           array_to_string(list_append(coalesce(i.parent_nos, []), coalesce(i.item_no, '')), '/') AS item_path,
           i.text
    FROM items i JOIN documents d USING (doc_id)
    WHERE d.doc_kind = 'fyp'
),
plan_leads AS (
    SELECT a.doc_id, a.item_id, list(DISTINCT coalesce(u.name, a.mention) ORDER BY coalesce(u.name, a.mention)) AS plan_leads
    FROM assignments a LEFT JOIN units u USING (unit_id)
    WHERE a.role IN ('lead', 'overall_lead')
    GROUP BY ALL
),
annual_leads AS (
    SELECT a.item_id, coalesce(u.name, a.mention) AS unit
    FROM assignments a LEFT JOIN units u USING (unit_id)
    WHERE a.role IN ('lead', 'overall_lead')
),
back AS (
    SELECT l.to_item_id, coalesce(d.period_year, d.period_start) AS year, l.from_doc_id, l.from_item_id,
           l.strength, l.score, i.text AS from_text
    FROM task_links l JOIN documents d ON d.doc_id = l.from_doc_id
    JOIN items i ON i.doc_id = l.from_doc_id AND i.item_id = l.from_item_id
    WHERE l.to_doc_kind = 'fyp'
)
SELECT p.jurisdiction, p.province, p.period_start, p.period_end, p.doc_id, p.item_id, p.item_kind, p.item_path,
       p.text, pl.plan_leads,
       count(b.from_item_id) AS n_annual_items,
       list(DISTINCT b.year ORDER BY b.year) FILTER (WHERE b.year IS NOT NULL) AS years,
       list({'year': b.year, 'item_id': b.from_item_id, 'strength': b.strength, 'score': b.score,
             'text': b.from_text} ORDER BY b.year, b.score DESC) FILTER (WHERE b.from_item_id IS NOT NULL)
           AS annual_items,
       (SELECT list(DISTINCT al.unit ORDER BY al.unit) FROM annual_leads al
        WHERE list_contains(list(b.from_item_id), al.item_id)) AS led_by,
       count(b.from_item_id) = 0 AS never_seen_again
FROM plan p
LEFT JOIN plan_leads pl ON pl.doc_id = p.doc_id AND pl.item_id = p.item_id
LEFT JOIN back b ON b.to_item_id = p.item_id
GROUP BY p.jurisdiction, p.province, p.period_start, p.period_end, p.doc_id, p.item_id, p.seq, p.item_kind,
         p.item_path, p.text, pl.plan_leads
ORDER BY p.jurisdiction, p.doc_id, p.seq;

-- Per jurisdiction and metric_code: the five-year target beside each annual target of the same code
-- (an annual year inside the plan's period). A target with no counterpart appears with the other
-- side null. `linked` says whether task_links joins the two items.
CREATE OR REPLACE VIEW v_indicator_track AS
WITH t AS (
    SELECT d.jurisdiction, d.doc_kind, d.period_start, d.period_end, coalesce(d.period_year, d.period_start) AS year,
           x.doc_id, x.item_id, x.metric, x.metric_code, x.comparator, x.value, x.value_unit, x.basis,
           x.horizon_year, x.target_text
    FROM indicators x JOIN documents d USING (doc_id)
    WHERE x.metric_code IS NOT NULL AND NOT starts_with(x.metric_code, 'other') AND d.jurisdiction IS NOT NULL
),
plan AS (SELECT * FROM t WHERE doc_kind = 'fyp'),
annual AS (SELECT * FROM t WHERE doc_kind = 'gwr')
SELECT coalesce(a.jurisdiction, p.jurisdiction) AS jurisdiction,
       coalesce(a.metric_code, p.metric_code) AS metric_code,
       p.period_start AS plan_start, p.period_end AS plan_end,
       p.doc_id AS plan_doc_id, p.item_id AS plan_item_id, p.metric AS plan_metric, p.comparator AS plan_comparator,
       p.value AS plan_value, p.value_unit AS plan_unit, p.basis AS plan_basis, p.horizon_year AS plan_horizon,
       p.target_text AS plan_text,
       a.year AS annual_year, a.doc_id AS annual_doc_id, a.item_id AS annual_item_id, a.metric AS annual_metric,
       a.comparator AS annual_comparator, a.value AS annual_value, a.value_unit AS annual_unit,
       a.basis AS annual_basis, a.target_text AS annual_text,
       EXISTS (SELECT 1 FROM task_links l WHERE l.from_item_id = a.item_id AND l.to_item_id = p.item_id) AS linked
FROM annual a
FULL JOIN plan p ON p.jurisdiction = a.jurisdiction AND p.metric_code = a.metric_code
                AND a.year BETWEEN p.period_start AND coalesce(p.period_end, p.period_start)
ORDER BY 1, 2, annual_year, plan_doc_id;
