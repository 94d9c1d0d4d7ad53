-- Stand-in for schema 3, which another branch owns (branch fidelity needs 4 to be consecutive).
-- Drop this file when merging: the other branch's 0003 takes its place.
SELECT 1;
