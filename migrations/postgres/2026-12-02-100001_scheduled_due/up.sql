-- The scheduler's question, every few seconds: which scheduled articles are due?
CREATE INDEX articles_scheduled_due ON articles (published_at) WHERE status = 'scheduled';
