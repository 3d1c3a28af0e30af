-- The object version CompleteMultipartUpload produced, recorded before verification reads it
-- back: a completion retried after a failure in between continues from the assembled object
-- (S3 has forgotten the multipart upload by then).
ALTER TABLE upload_sessions ADD COLUMN assembled_s3_version_id text;
