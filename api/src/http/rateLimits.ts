// Rate limits per IP (before authentication) and per credential (after it), answered with 429 and
// Retry-After. In memory per process: with several API replicas each enforces its share.
import type { Middleware } from "koa";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { tooManyRequests } from "../errors.ts";

export type RateLimits = { perIp: Middleware; perCredential: Middleware; signIn: Middleware };

export function createRateLimits(options: {
  perIp: number;
  perKey: number;
  signInPerIp: number;
  windowSeconds: number;
}): RateLimits {
  const byIp = new RateLimiterMemory({ points: options.perIp, duration: options.windowSeconds, keyPrefix: "ip" });
  const signIns = new RateLimiterMemory({
    points: options.signInPerIp,
    duration: options.windowSeconds,
    keyPrefix: "sign-in",
  });
  const byKey = new RateLimiterMemory({ points: options.perKey, duration: options.windowSeconds, keyPrefix: "key" });

  const consume = async (limiter: RateLimiterMemory, key: string) => {
    try {
      await limiter.consume(key);
    } catch (result) {
      if (!(result instanceof RateLimiterRes)) throw result;
      throw tooManyRequests(Math.max(1, Math.ceil(result.msBeforeNext / 1000)));
    }
  };

  return {
    perIp: async (ctx, next) => {
      await consume(byIp, ctx.ip);
      await next();
    },
    signIn: async (ctx, next) => {
      await consume(signIns, ctx.ip);
      await next();
    },
    perCredential: async (ctx, next) => {
      const principal = ctx.state.principal;
      if (principal && principal.kind !== "public") await consume(byKey, principal.subject);
      await next();
    },
  };
}
