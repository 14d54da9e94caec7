// What the indexer serves: tenants, their tokens and balances, every movement of value with its
// cause, campaigns, claims, offers and redemptions. Tables are snake_case in SQL, camelCase here.
import { index, onchainEnum, onchainTable, primaryKey, uniqueIndex } from "ponder";
import { ClaimSource, ContractKind } from "../abi/enums.ts";

export const tokenKind = onchainEnum("token_kind", ["POINTS", "REWARD", "STATUS"]);
export const transactionType = onchainEnum("transaction_type", ["MINT", "TRANSFER", "BURN"]);
/** Why a mint or burn happened; NONE for plain transfers and holders' own burns. */
export const transactionCause = onchainEnum("transaction_cause", ["CLAIM", "REDEMPTION", "PURCHASE", "GRANT", "NONE"]);
export const claimSource = onchainEnum(
  "claim_source",
  Object.keys(ClaimSource) as [keyof typeof ClaimSource, ...(keyof typeof ClaimSource)[]],
);
export const programmeStatus = onchainEnum("programme_status", ["ACTIVE", "PAUSED", "CLOSED"]);
export const contractKind = onchainEnum(
  "contract_kind",
  Object.keys(ContractKind) as [keyof typeof ContractKind, ...(keyof typeof ContractKind)[]],
);

/** A TenantFactory: its owner, who approves implementations, and the owner it has offered ownership
 * to (Ownable2Step: the offer stands until accepted or replaced). */
export const tenantFactory = onchainTable(
  "tenant_factory",
  (t) => ({
    chainId: t.integer().notNull(),
    address: t.hex().notNull(),
    owner: t.hex().notNull(),
    pendingOwner: t.hex(),
    /** Each kind's current implementation, as in `implementation`'s rows with `current`. */
    currentImplementations: t.json().$type<Partial<Record<keyof typeof ContractKind, `0x${string}`>>>().notNull(),
    changedBlock: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.address] }) }),
);

/** Every implementation a factory has named for a kind of tenant contract: whether tenants may upgrade
 * to it (`approved`) and whether new tenants get it (`current`, one per kind). */
export const implementation = onchainTable(
  "implementation",
  (t) => ({
    chainId: t.integer().notNull(),
    factory: t.hex().notNull(),
    kind: contractKind().notNull(),
    implementation: t.hex().notNull(),
    approved: t.boolean().notNull(),
    current: t.boolean().notNull(),
    changedBlock: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.factory, table.kind, table.implementation] }) }),
);

export const tenant = onchainTable(
  "tenant",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.hex().notNull(),
    creator: t.hex().notNull(),
    admin: t.hex().notNull(),
    rewardToken: t.hex().notNull(),
    statusToken: t.hex().notNull(),
    campaignRegistry: t.hex().notNull(),
    redemptionRegistry: t.hex().notNull(),
    createdBlock: t.bigint().notNull(),
    createdAt: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.id] }) }),
);

/** Which tenant each contract of a suite belongs to. */
export const tenantContract = onchainTable(
  "tenant_contract",
  (t) => ({
    chainId: t.integer().notNull(),
    address: t.hex().notNull(),
    tenantId: t.hex().notNull(),
    kind: t.text().notNull(),
    /** The ERC-1967 implementation, from the proxy's Upgraded events. */
    implementation: t.hex(),
    /** Initializable's version: 1 once initialised, more after a reinitializer. */
    initializedVersion: t.bigint(),
    /** The last block that emitted ERC-5267's EIP712DomainChanged: signers must read the domain anew. */
    eip712DomainChangedBlock: t.bigint(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.address] }) }),
);

/** Who holds which role on which tenant contract: what an auditor checks the platform cannot do. */
export const roleMember = onchainTable(
  "role_member",
  (t) => ({
    chainId: t.integer().notNull(),
    contract: t.hex().notNull(),
    role: t.hex().notNull(),
    account: t.hex().notNull(),
    active: t.boolean().notNull(),
    changedBlock: t.bigint().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.contract, table.role, table.account] }),
    accountIdx: index().on(table.account),
  }),
);

/** Which role administers which (AccessControl's RoleAdminChanged; DEFAULT_ADMIN_ROLE when absent). */
export const roleAdmin = onchainTable(
  "role_admin",
  (t) => ({
    chainId: t.integer().notNull(),
    contract: t.hex().notNull(),
    role: t.hex().notNull(),
    adminRole: t.hex().notNull(),
    changedBlock: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.contract, table.role] }) }),
);

export const token = onchainTable(
  "token",
  (t) => ({
    chainId: t.integer().notNull(),
    address: t.hex().notNull(),
    tenantId: t.hex().notNull(),
    standard: t.text().notNull(), // ERC20 or ERC1155
    kind: tokenKind().notNull(),
    name: t.text(),
    symbol: t.text(),
    decimals: t.integer(),
    paused: t.boolean().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.address] }), tenantIdx: index().on(table.tenantId) }),
);

/** An ERC-1155 id; points tokens have none. `uri` is the class's effective URI (its own, or the
 * token's base URI), from the URI event that follows TokenClassDefined. */
export const tokenClass = onchainTable(
  "token_class",
  (t) => ({
    chainId: t.integer().notNull(),
    token: t.hex().notNull(),
    tokenId: t.bigint().notNull(),
    uri: t.text().notNull(),
    maxSupply: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.token, table.tokenId] }) }),
);

/** A points token's allowance as the chain has it: set by Approval (approve, permit), refreshed from
 * the chain after a transfer out of the owner, since ERC-20's transferFrom spends it without an event. */
export const allowance = onchainTable(
  "allowance",
  (t) => ({
    chainId: t.integer().notNull(),
    token: t.hex().notNull(),
    owner: t.hex().notNull(),
    spender: t.hex().notNull(),
    amount: t.bigint().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.token, table.owner, table.spender] }),
    spenderIdx: index().on(table.spender),
  }),
);

/** Whom an owner has ever approved on a points token: the allowances a transfer out of it may spend. */
export const approvedSpenders = onchainTable(
  "approved_spenders",
  (t) => ({
    chainId: t.integer().notNull(),
    token: t.hex().notNull(),
    owner: t.hex().notNull(),
    spenders: t.json().$type<`0x${string}`[]>().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.token, table.owner] }) }),
);

/** ERC-1155 operators: who may move all of an account's reward or status tokens. */
export const operatorApproval = onchainTable(
  "operator_approval",
  (t) => ({
    chainId: t.integer().notNull(),
    token: t.hex().notNull(),
    account: t.hex().notNull(),
    operator: t.hex().notNull(),
    approved: t.boolean().notNull(),
    changedBlock: t.bigint().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.token, table.account, table.operator] }),
    operatorIdx: index().on(table.operator),
  }),
);

/** `tokenId` is 0 for points. Readers find a row by its columns; `id` is the indexer's own key
 * (src/rowKeys.ts) and the unique index keeps one row per chain, token, id and owner. */
export const balance = onchainTable(
  "balance",
  (t) => ({
    id: t.text().primaryKey(),
    chainId: t.integer().notNull(),
    token: t.hex().notNull(),
    tokenId: t.bigint().notNull(),
    owner: t.hex().notNull(),
    amount: t.bigint().notNull(),
  }),
  (table) => ({
    holding: uniqueIndex().on(table.chainId, table.token, table.tokenId, table.owner),
    ownerIdx: index().on(table.owner),
  }),
);

/** One row per movement; an ERC-1155 batch transfer makes one row per id (`batchIndex`). */
export const transaction = onchainTable(
  "transaction",
  (t) => ({
    /** Ponder's id of the log (it sorts in chain order), then `-batchIndex` after a batch's first item. */
    id: t.text().primaryKey(),
    chainId: t.integer().notNull(),
    tenantId: t.hex().notNull(),
    token: t.hex().notNull(),
    tokenId: t.bigint().notNull(),
    type: transactionType().notNull(),
    from: t.hex().notNull(),
    to: t.hex().notNull(),
    amount: t.bigint().notNull(),
    cause: transactionCause().notNull(),
    /** The campaign's claim id, the redemption id or the reference. */
    causeReference: t.text(),
    campaignId: t.bigint(),
    offerId: t.bigint(),
    operator: t.hex().notNull(),
    transactionHash: t.hex().notNull(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    batchIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
  }),
  (table) => ({
    fromIdx: index().on(table.from),
    toIdx: index().on(table.to),
    tokenIdx: index().on(table.chainId, table.token),
    // The API's GET /transactions: a tenant's movements by time (else every tenant's rows are read).
    tenantTimeIdx: index().on(table.chainId, table.tenantId, table.timestamp),
  }),
);

export const campaign = onchainTable(
  "campaign",
  (t) => ({
    chainId: t.integer().notNull(),
    registry: t.hex().notNull(),
    campaignId: t.bigint().notNull(),
    tenantId: t.hex().notNull(),
    status: programmeStatus().notNull(),
    start: t.bigint().notNull(),
    end: t.bigint().notNull(),
    perUserLimit: t.bigint().notNull(),
    budget: t.bigint().notNull(),
    claimed: t.bigint().notNull(),
    skipped: t.bigint().notNull(),
    /** The block whose claim used the last of the budget; null while some is left. */
    budgetSpentBlock: t.bigint(),
    payouts: t.json().$type<{ token: string; id: string; amount: string }[]>().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.registry, table.campaignId] }) }),
);

export const engagement = onchainTable(
  "engagement",
  (t) => ({
    chainId: t.integer().notNull(),
    registry: t.hex().notNull(),
    campaignId: t.bigint().notNull(),
    business: t.hex().notNull(),
    active: t.boolean().notNull(),
    cap: t.bigint().notNull(),
    claimed: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.registry, table.campaignId, table.business] }) }),
);

/** `id`: chain-registry-claimId, the indexer's own key (src/rowKeys.ts); readers use the columns. */
export const claim = onchainTable(
  "claim",
  (t) => ({
    id: t.text().primaryKey(),
    chainId: t.integer().notNull(),
    registry: t.hex().notNull(),
    claimId: t.bigint().notNull(),
    tenantId: t.hex().notNull(),
    campaignId: t.bigint().notNull(),
    recipient: t.hex().notNull(),
    source: claimSource().notNull(),
    business: t.hex().notNull(),
    transactionHash: t.hex().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
  }),
  (table) => ({
    claimKey: uniqueIndex().on(table.chainId, table.registry, table.claimId),
    recipientIdx: index().on(table.recipient),
  }),
);

export const redemptionOffer = onchainTable(
  "redemption_offer",
  (t) => ({
    chainId: t.integer().notNull(),
    registry: t.hex().notNull(),
    offerId: t.bigint().notNull(),
    tenantId: t.hex().notNull(),
    status: programmeStatus().notNull(),
    start: t.bigint().notNull(),
    end: t.bigint().notNull(),
    supplyLeft: t.bigint().notNull(),
    redeemed: t.bigint().notNull(),
    statusToken: t.hex().notNull(),
    statusId: t.bigint().notNull(),
    costs: t.json().$type<{ token: string; id: string; amount: string }[]>().notNull(),
    payouts: t.json().$type<{ token: string; id: string; amount: string }[]>().notNull(),
    businesses: t.json().$type<string[]>().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.registry, table.offerId] }) }),
);

/** `id`: chain-registry-redemptionId, the indexer's own key (src/rowKeys.ts); readers use the columns. */
export const redemption = onchainTable(
  "redemption",
  (t) => ({
    id: t.text().primaryKey(),
    chainId: t.integer().notNull(),
    registry: t.hex().notNull(),
    redemptionId: t.bigint().notNull(),
    tenantId: t.hex().notNull(),
    offerId: t.bigint().notNull(),
    holder: t.hex().notNull(),
    quantity: t.bigint().notNull(),
    business: t.hex().notNull(),
    transactionHash: t.hex().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
  }),
  (table) => ({ redemptionKey: uniqueIndex().on(table.chainId, table.registry, table.redemptionId) }),
);

/** Per token and id: holders (non-zero balances), minted, burned, supply = minted − burned. */
export const tokenStatistics = onchainTable(
  "token_statistics",
  (t) => ({
    chainId: t.integer().notNull(),
    token: t.hex().notNull(),
    tokenId: t.bigint().notNull(),
    holders: t.integer().notNull(),
    minted: t.bigint().notNull(),
    burned: t.bigint().notNull(),
    supply: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.token, table.tokenId] }) }),
);
