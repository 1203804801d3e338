DROP INDEX images_rights_expire;
ALTER TABLE images DROP COLUMN embedded;
ALTER TABLE images DROP COLUMN rights_expire_at;
ALTER TABLE images DROP COLUMN taken_at;
ALTER TABLE images DROP COLUMN digital_source_type;
ALTER TABLE images DROP COLUMN usage_terms;
ALTER TABLE images DROP COLUMN creator;
