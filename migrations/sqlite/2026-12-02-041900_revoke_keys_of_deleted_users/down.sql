-- Nothing to undo: revoked keys stay revoked.
SELECT 1;
