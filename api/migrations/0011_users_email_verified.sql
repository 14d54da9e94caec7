-- Emails already stored count as verified: which of them users typed in themselves was never recorded.
ALTER TABLE "users" ADD COLUMN "email_verified" boolean DEFAULT true NOT NULL;