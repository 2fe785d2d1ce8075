-- SQLite workload for the real-program suite: bulk insert, indexes, joins, aggregates, updates,
-- deletes and a VACUUM, with output that depends only on the data (no randomness, no timing).
.bail on
.headers off
.mode list
PRAGMA journal_mode = WAL;
PRAGMA cache_size = -65536;
CREATE TABLE item(id INTEGER PRIMARY KEY, key TEXT NOT NULL, payload TEXT, score REAL, grp INT);
BEGIN;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200000)
INSERT INTO item
SELECT x, printf('key%08d', (x * 7919) % 200003), substr(replace(hex(zeroblob(x % 300)), '00',
       char(97 + x % 26)), 1, 400 + x % 97), (x % 1000) / 7.0, x % 97
FROM n;
COMMIT;
CREATE INDEX item_key ON item(key);
CREATE INDEX item_grp_score ON item(grp, score);
SELECT count(*), sum(length(payload)), round(total(score), 3) FROM item;
SELECT grp, count(*), round(avg(score), 4), max(key) FROM item GROUP BY grp ORDER BY grp LIMIT 20;
SELECT key, length(payload) FROM item ORDER BY key DESC LIMIT 15;
CREATE TABLE pair AS SELECT a.id AS left_id, b.id AS right_id FROM item a JOIN item b
  ON a.grp = b.grp AND b.id = a.id + 97 WHERE a.id % 5 = 0;
SELECT count(*), sum(left_id), sum(right_id) FROM pair;
UPDATE item SET payload = payload || payload WHERE id % 11 = 0;
DELETE FROM item WHERE id % 13 = 0;
SELECT count(*), sum(length(payload)) FROM item;
SELECT group_concat(key, ',') FROM (SELECT key FROM item WHERE grp = 42 ORDER BY score, key LIMIT 40);
VACUUM;
PRAGMA integrity_check;
SELECT count(DISTINCT substr(payload, 1, 3)), min(key), max(key) FROM item;
