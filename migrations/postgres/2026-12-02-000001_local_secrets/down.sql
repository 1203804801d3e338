DROP TABLE local_secrets;
