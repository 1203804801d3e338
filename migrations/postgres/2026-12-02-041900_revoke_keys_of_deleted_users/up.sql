-- API keys whose creator was deleted (the foreign key cleared `created_by`) are revoked: a key
-- never outlives the person answerable for it. The server refuses such keys in any case.
UPDATE api_keys SET revoked_at = (now() AT TIME ZONE 'UTC')
WHERE created_by IS NULL AND revoked_at IS NULL;
