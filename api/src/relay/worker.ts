// The relayer: one loop per process over every chain the API writes to. Each round confirms what
// was sent (receipts, replacements, drops), then carries pending jobs, then now and then checks the
// signer's balance. Several processes may run it on one PostgreSQL database: jobs are claimed with
// FOR UPDATE SKIP LOCKED and nonces come from the lane's locked row.
import type { ChainClients } from "../chain/chains.ts";
import type { Services } from "../http/context.ts";
import { confirmSent } from "./confirmer.ts";
import type { ChainLane, RelayerContext, RelayerSettings } from "./context.ts";
import type { JobKind } from "./jobs.ts";
import { syncLane } from "./lanes.ts";
import { checkBalance } from "./limits.ts";
import { platformSigner, type Signer } from "./signers.ts";
import { submitPending } from "./submitter.ts";
import { broadcast } from "./transactions.ts";

export type StartRelayerParameters = {
  services: Pick<Services, "db" | "chains" | "logger" | "config">;
  kinds: readonly JobKind<any>[];
  /** The signer of each chain; the chain's platform account by default. */
  signerFor?: (chain: ChainClients) => Signer;
} & Partial<RelayerSettings>;

export type Relayer = {
  /** Ends the loop after the current round. */
  stop: () => Promise<void>;
  /** Starts the next round now instead of after the poll interval. */
  wake: () => void;
};

export function startRelayer(parameters: StartRelayerParameters): Relayer {
  const { services, kinds, signerFor = platformSigner } = parameters;
  const { config } = services;
  const settings: RelayerSettings = {
    pollIntervalMs: parameters.pollIntervalMs ?? config.RELAYER_POLL_INTERVAL_MS,
    confirmations: parameters.confirmations ?? config.RELAYER_CONFIRMATIONS,
    replaceAfterMs: parameters.replaceAfterMs ?? config.RELAYER_REPLACE_AFTER_MS,
    maxFeePerGas: parameters.maxFeePerGas ?? config.RELAYER_MAX_FEE_PER_GAS_WEI,
    tenantGasPerHour: parameters.tenantGasPerHour ?? config.RELAYER_TENANT_GAS_PER_HOUR,
    tenantWaitMs: parameters.tenantWaitMs ?? 60_000,
    leaseMs: parameters.leaseMs ?? 60_000,
    // Several full batches per round: a round's fixed cost (receipts, fees, limits) is paid once.
    claimLimit: parameters.claimLimit ?? 1000,
    lowBalanceWei: parameters.lowBalanceWei ?? config.SIGNER_LOW_BALANCE_WEI,
    balanceCheckMs: parameters.balanceCheckMs ?? 60_000,
  };
  const logger = services.logger.child({ component: "relayer" });
  const context: RelayerContext = {
    db: services.db,
    logger,
    kinds: new Map(kinds.map((kind) => [kind.name, kind])),
    settings,
  };
  const lanes = new Map<number, ChainLane & { synced: boolean; balanceCheckedAt: number }>();
  const laneOf = (chainId: number) => {
    let lane = lanes.get(chainId);
    if (!lane) {
      const chain = services.chains.get(chainId)!;
      lane = { chain, signer: signerFor(chain), synced: false, balanceCheckedAt: 0 };
      lanes.set(chainId, lane);
    }
    return lane;
  };

  /** One round on one chain; returns whether there is more to do at once. */
  const round = async (chainId: number): Promise<boolean> => {
    const lane = laneOf(chainId);
    if (!lane.synced) {
      const { nextNonce, fillers } = await syncLane(context.db, lane.chain, lane.signer, settings.maxFeePerGas);
      for (const filler of fillers) await broadcast(lane.chain, filler.serialized);
      logger.info({ chainId, signer: lane.signer.address, nextNonce, fillers: fillers.length }, "relayer: lane synced");
      lane.synced = true;
    }
    const confirmed = await confirmSent(context, lane);
    const submitted = await submitPending(context, lane);
    if (confirmed.laneStale || submitted.laneStale) lane.synced = false;
    if (Date.now() - lane.balanceCheckedAt >= settings.balanceCheckMs) {
      lane.balanceCheckedAt = Date.now();
      await checkBalance(context, lane);
    }
    // Held back jobs wait for blocks, not for the next round.
    return submitted.more && !submitted.throttled && !submitted.waitingForFees;
  };

  let stopped = false;
  let wake: () => void = () => undefined;
  const loop = (async () => {
    while (!stopped) {
      let busy = false;
      for (const chainId of services.chains.ids()) {
        if (stopped) break;
        try {
          busy = (await round(chainId)) || busy;
        } catch (error) {
          logger.error({ err: error, chainId }, "relayer: round failed");
        }
      }
      if (busy || stopped) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, settings.pollIntervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      wake();
      await loop;
    },
    wake: () => wake(),
  };
}
