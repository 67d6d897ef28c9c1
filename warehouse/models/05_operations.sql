-- Operations: when the data last changed, and what is current.

-- One row: when the last run finished, and when the last run that changed a document finished.
CREATE OR REPLACE VIEW v_freshness AS
SELECT max(finished_at) FILTER (WHERE data_changed) AS data_changed_at,
       max(finished_at) AS last_run_at,
       arg_max(run_id, finished_at) AS last_run_id,
       (SELECT count(*) FROM documents WHERE retired_at IS NULL) AS current_documents,
       (SELECT count(*) FROM documents WHERE retired_at IS NOT NULL) AS retired_documents
FROM runs;

-- The file names under raw/ and what happened to each (loaded, quarantined, retired).
CREATE OR REPLACE VIEW v_files AS
SELECT f.source_file, CASE WHEN f.retired_at IS NULL THEN 'loaded' ELSE 'retired' END AS status,
       f.doc_id, f.sha256, f.first_seen, f.last_seen, f.retired_at, NULL AS reason
FROM document_files f
UNION ALL BY NAME
SELECT q.source_file, 'quarantined' AS status, NULL AS doc_id, q.sha256, NULL AS first_seen, q."at" AS last_seen,
       NULL AS retired_at, q.reason
FROM quarantine q;
