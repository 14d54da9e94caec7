// An endpoint's signing secret: Standard Webhooks' format (`whsec_` and 32 random bytes in base64),
// sealed under the master key bound to the endpoint's id, opened only to sign a delivery.
import { randomBytes } from "node:crypto";
import { open, seal } from "../crypto/secretBox.ts";

const context = (endpointId: string) => `webhook-endpoint:${endpointId}`;

export function newEndpointSecret(masterKey: Buffer, endpointId: string) {
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  return { secret, secretCiphertext: seal(masterKey, secret, context(endpointId)) };
}

export const openEndpointSecret = (masterKey: Buffer, endpointId: string, secretCiphertext: string) =>
  open(masterKey, secretCiphertext, context(endpointId));
