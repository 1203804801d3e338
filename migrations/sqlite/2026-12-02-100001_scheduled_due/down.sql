DROP INDEX articles_scheduled_due;
