-- The API's claim ids start at 2^52: far above the small ids a tenant may use in its own direct or
-- voucher claims on the same registry, still consecutive (they share the registry's bitmap words)
-- and still exact as JavaScript numbers.
ALTER SEQUENCE "claims_onchain_claim_id_seq" RESTART WITH 4503599627370496;
