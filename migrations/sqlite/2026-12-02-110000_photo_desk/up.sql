-- The photo desk (PRODUCT.md §3a): who took the picture, the licence terms, how it was made
-- (an IPTC NewsCodes digital source type URI), when it was taken, when the licence ends (from
-- then on the image is withdrawn from public reads; computed at read time), and what was read
-- from the file's embedded metadata at upload (JSON, so an editor sees where a value came from).
ALTER TABLE images ADD COLUMN creator TEXT;
ALTER TABLE images ADD COLUMN usage_terms TEXT;
ALTER TABLE images ADD COLUMN digital_source_type TEXT;
ALTER TABLE images ADD COLUMN taken_at TIMESTAMP;
ALTER TABLE images ADD COLUMN rights_expire_at TIMESTAMP;
ALTER TABLE images ADD COLUMN embedded TEXT;
-- `?expiring_before=` and the next expiry a cache must wake up for.
CREATE INDEX images_rights_expire ON images (rights_expire_at, id);
