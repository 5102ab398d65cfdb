-- Read-only account of the Grafana MySQL data source. Grafana runs the SQL of
-- every panel as written, so this account may only read.
-- The MySQL image runs this file once, when it initialises an empty volume.
CREATE USER IF NOT EXISTS 'grafana'@'%' IDENTIFIED BY 'grafana';
GRANT SELECT ON gamestream.* TO 'grafana'@'%';
