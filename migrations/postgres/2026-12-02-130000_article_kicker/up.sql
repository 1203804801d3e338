-- The label over a headline ("Exclusive", "Analysis"), PRODUCT.md §10; at most 60 characters.
ALTER TABLE articles ADD COLUMN kicker TEXT;
