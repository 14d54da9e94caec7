// TenantFactory: creating and wiring a tenant's suite, adding points tokens, and the registry of
// implementations the protocol approves.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import {
  encodeAbiParameters,
  getAddress,
  keccak256,
  parseAbiParameters,
  parseEventLogs,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";

import { ContractKind } from "../abi/enums.ts";
import { pointsTokenAbi } from "../abi/pointsToken.ts";
import { tenantFactoryAbi } from "../abi/tenantFactory.ts";
import { createTenant } from "../deploy/tenant.ts";
import { implementationOf } from "./helpers/erc1967.ts";
import { asHex, claimRequest, DAY, now, protocolFixture, type ProtocolFixture } from "./helpers/fixtures.ts";

const { viem, networkHelpers } = await network.create();

const EXTERNAL_ID = asHex("tenant-roles");

/** The protocol, the suite `predictTenantSuite` announced, then a tenant created with two operators. */
async function createdTenantFixture() {
  const protocol = await protocolFixture(viem);
  const { factory, publicClient, accounts } = protocol;
  const secondOperator = (await viem.getWalletClients())[7];
  if (!secondOperator) throw new Error("the factory tests need an eighth account");
  const creator = accounts.platform;
  const predicted = await factory.read.predictTenantSuite([creator.account.address, EXTERNAL_ID]);
  const created = await createTenant({
    publicClient,
    walletClient: creator,
    factory: factory.address,
    externalId: EXTERNAL_ID,
    admin: accounts.tenantAdmin.account.address,
    operators: [accounts.platform.account.address, secondOperator.account.address],
    points: { name: "Points", symbol: "PTS", decimals: 6 },
    rewardUri: "ipfs://rewards/{id}",
    statusUri: "ipfs://status/{id}",
  });
  const { suite } = created;
  return {
    ...protocol,
    secondOperator,
    predicted,
    created,
    tenantId: created.tenantId,
    points: await viem.getContractAt("PointsToken", suite.pointsToken),
    reward: await viem.getContractAt("RewardToken", suite.rewardToken),
    status: await viem.getContractAt("StatusToken", suite.statusToken),
    campaigns: await viem.getContractAt("CampaignRegistry", suite.campaignRegistry),
    redemptions: await viem.getContractAt("RedemptionRegistry", suite.redemptionRegistry),
  };
}

type Fixture = Awaited<ReturnType<typeof createdTenantFixture>>;

const fixture = () => createdTenantFixture();

function tenantParams(f: ProtocolFixture, admin: Address = f.accounts.tenantAdmin.account.address) {
  return {
    admin,
    operators: [f.accounts.platform.account.address],
    pointsName: "Points",
    pointsSymbol: "PTS",
    pointsDecimals: 18,
    rewardUri: "",
    statusUri: "",
  };
}

async function receiptOf(f: ProtocolFixture, hash: Hex | Promise<Hex>) {
  return f.publicClient.waitForTransactionReceipt({ hash: await hash });
}

// ------------------------------------------------------------------------------------------ roles

/** Every role a contract defines, by the name of its getter, with the id read from the contract. */
type RoleTable = { contract: string; address: Address; roles: Record<string, Hex> }[];

async function pointsRoles(token: Fixture["points"]) {
  return {
    DEFAULT_ADMIN_ROLE: await token.read.DEFAULT_ADMIN_ROLE(),
    UPGRADER_ROLE: await token.read.UPGRADER_ROLE(),
    PAUSER_ROLE: await token.read.PAUSER_ROLE(),
    MINTER_ROLE: await token.read.MINTER_ROLE(),
    BURNER_ROLE: await token.read.BURNER_ROLE(),
    ISSUER_ROLE: await token.read.ISSUER_ROLE(),
  };
}

async function multiTokenRoles(token: Fixture["reward"] | Fixture["status"]) {
  return {
    DEFAULT_ADMIN_ROLE: await token.read.DEFAULT_ADMIN_ROLE(),
    UPGRADER_ROLE: await token.read.UPGRADER_ROLE(),
    PAUSER_ROLE: await token.read.PAUSER_ROLE(),
    MINTER_ROLE: await token.read.MINTER_ROLE(),
    BURNER_ROLE: await token.read.BURNER_ROLE(),
    ISSUER_ROLE: await token.read.ISSUER_ROLE(),
    CAMPAIGN_MANAGER_ROLE: await token.read.CAMPAIGN_MANAGER_ROLE(),
  };
}

async function suiteRoles(f: Fixture): Promise<RoleTable> {
  return [
    { contract: "PointsToken", address: f.points.address, roles: await pointsRoles(f.points) },
    { contract: "RewardToken", address: f.reward.address, roles: await multiTokenRoles(f.reward) },
    { contract: "StatusToken", address: f.status.address, roles: await multiTokenRoles(f.status) },
    {
      contract: "CampaignRegistry",
      address: f.campaigns.address,
      roles: {
        DEFAULT_ADMIN_ROLE: await f.campaigns.read.DEFAULT_ADMIN_ROLE(),
        UPGRADER_ROLE: await f.campaigns.read.UPGRADER_ROLE(),
        CAMPAIGN_MANAGER_ROLE: await f.campaigns.read.CAMPAIGN_MANAGER_ROLE(),
        CLAIM_OPERATOR_ROLE: await f.campaigns.read.CLAIM_OPERATOR_ROLE(),
        CLAIM_SIGNER_ROLE: await f.campaigns.read.CLAIM_SIGNER_ROLE(),
      },
    },
    {
      contract: "RedemptionRegistry",
      address: f.redemptions.address,
      roles: {
        DEFAULT_ADMIN_ROLE: await f.redemptions.read.DEFAULT_ADMIN_ROLE(),
        UPGRADER_ROLE: await f.redemptions.read.UPGRADER_ROLE(),
        CAMPAIGN_MANAGER_ROLE: await f.redemptions.read.CAMPAIGN_MANAGER_ROLE(),
      },
    },
  ];
}

/** The roles `account` holds, as sorted "Contract.ROLE" labels, checked with `hasRole` one by one. */
async function rolesHeldBy(f: ProtocolFixture, table: RoleTable, account: Address): Promise<string[]> {
  const held: string[] = [];
  for (const { contract, address, roles } of table) {
    for (const [name, role] of Object.entries(roles)) {
      const has = await f.publicClient.readContract({
        address,
        abi: pointsTokenAbi,
        functionName: "hasRole",
        args: [role, account],
      });
      if (has) held.push(`${contract}.${name}`);
    }
  }
  return held.sort();
}

const ADMIN_ROLES = [
  "CampaignRegistry.DEFAULT_ADMIN_ROLE",
  "CampaignRegistry.UPGRADER_ROLE",
  "PointsToken.DEFAULT_ADMIN_ROLE",
  "PointsToken.PAUSER_ROLE",
  "PointsToken.UPGRADER_ROLE",
  "RedemptionRegistry.DEFAULT_ADMIN_ROLE",
  "RedemptionRegistry.UPGRADER_ROLE",
  "RewardToken.DEFAULT_ADMIN_ROLE",
  "RewardToken.PAUSER_ROLE",
  "RewardToken.UPGRADER_ROLE",
  "StatusToken.DEFAULT_ADMIN_ROLE",
  "StatusToken.PAUSER_ROLE",
  "StatusToken.UPGRADER_ROLE",
];

const OPERATOR_ROLES = [
  "CampaignRegistry.CAMPAIGN_MANAGER_ROLE",
  "CampaignRegistry.CLAIM_OPERATOR_ROLE",
  "CampaignRegistry.CLAIM_SIGNER_ROLE",
  "PointsToken.ISSUER_ROLE",
  "RedemptionRegistry.CAMPAIGN_MANAGER_ROLE",
  "RewardToken.CAMPAIGN_MANAGER_ROLE",
  "RewardToken.ISSUER_ROLE",
  "StatusToken.CAMPAIGN_MANAGER_ROLE",
  "StatusToken.ISSUER_ROLE",
];

const CAMPAIGN_REGISTRY_ROLES = ["PointsToken.MINTER_ROLE", "RewardToken.MINTER_ROLE", "StatusToken.MINTER_ROLE"];

const REDEMPTION_REGISTRY_ROLES = [
  "PointsToken.BURNER_ROLE",
  "RewardToken.BURNER_ROLE",
  "RewardToken.MINTER_ROLE",
  "StatusToken.BURNER_ROLE",
  "StatusToken.MINTER_ROLE",
];

// ------------------------------------------------------------------------------------------ tests

describe("tenantIdOf", () => {
  it("is keccak256(abi.encode(creator, externalId)), so creators cannot collide", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const creator = f.accounts.platform.account.address;
    const expected = keccak256(encodeAbiParameters(parseAbiParameters("address, bytes32"), [creator, EXTERNAL_ID]));

    assert.equal(await f.factory.read.tenantIdOf([creator, EXTERNAL_ID]), expected);
    assert.equal(f.tenantId, expected);
    assert.notEqual(await f.factory.read.tenantIdOf([f.accounts.outsider.account.address, EXTERNAL_ID]), expected);
  });
});

describe("createTenant", () => {
  it("deploys the suite at exactly the addresses predictTenantSuite gave before", async () => {
    const f = await networkHelpers.loadFixture(fixture);

    assert.deepEqual(f.created.suite, f.predicted);
    assert.deepEqual(await f.factory.read.getTenant([f.tenantId]), f.predicted);
    assert.equal(new Set(Object.values(f.predicted)).size, 5);
    for (const address of Object.values(f.predicted)) {
      const code = await f.publicClient.getCode({ address });
      assert.ok(code !== undefined && code.length > 2, `no code at ${address}`);
    }
  });

  it("emits TenantCreated and PointsTokenAdded with the tenant's id, creator, admin and addresses", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { suite, transactionHash } = f.created;

    await viem.assertions.emitWithArgs(transactionHash, f.factory, "TenantCreated", [
      f.tenantId,
      f.accounts.platform.account.address,
      f.accounts.tenantAdmin.account.address,
      suite.pointsToken,
      suite.rewardToken,
      suite.statusToken,
      suite.campaignRegistry,
      suite.redemptionRegistry,
    ]);
    await viem.assertions.emitWithArgs(transactionHash, f.factory, "PointsTokenAdded", [
      f.tenantId,
      suite.pointsToken,
      0n,
    ]);
  });

  it("records the factory and the right kind in every contract, each running the current implementation", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { implementations } = f.deployment.contracts;
    const contracts = [
      { contract: f.points, kind: ContractKind.POINTS_TOKEN, implementation: implementations.PointsToken },
      { contract: f.reward, kind: ContractKind.REWARD_TOKEN, implementation: implementations.RewardToken },
      { contract: f.status, kind: ContractKind.STATUS_TOKEN, implementation: implementations.StatusToken },
      {
        contract: f.campaigns,
        kind: ContractKind.CAMPAIGN_REGISTRY,
        implementation: implementations.CampaignRegistry,
      },
      {
        contract: f.redemptions,
        kind: ContractKind.REDEMPTION_REGISTRY,
        implementation: implementations.RedemptionRegistry,
      },
    ];
    for (const { contract, kind, implementation } of contracts) {
      assert.equal(await contract.read.factory(), getAddress(f.factory.address));
      assert.equal(await contract.read.contractKind(), kind);
      assert.equal(await implementationOf(f.publicClient, contract.address), implementation);
    }
  });

  it("initialises the tokens with the parameters given", async () => {
    const f = await networkHelpers.loadFixture(fixture);

    assert.equal(await f.points.read.name(), "Points");
    assert.equal(await f.points.read.symbol(), "PTS");
    assert.equal(await f.points.read.decimals(), 6);
    assert.equal(await f.reward.read.uri([1n]), "ipfs://rewards/{id}");
    assert.equal(await f.status.read.uri([1n]), "ipfs://status/{id}");
  });

  describe("roles", () => {
    it("gives the admin DEFAULT_ADMIN_ROLE and UPGRADER_ROLE on all five contracts, PAUSER_ROLE on the tokens", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const table = await suiteRoles(f);

      assert.deepEqual(await rolesHeldBy(f, table, f.accounts.tenantAdmin.account.address), ADMIN_ROLES);
    });

    it("gives every operator only the operator roles, never admin, upgrader or pauser", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const table = await suiteRoles(f);

      assert.deepEqual(await rolesHeldBy(f, table, f.accounts.platform.account.address), OPERATOR_ROLES);
      assert.deepEqual(await rolesHeldBy(f, table, f.secondOperator.account.address), OPERATOR_ROLES);
    });

    it("lets the campaign registry mint every token and the redemption registry mint reward/status and burn every token", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const table = await suiteRoles(f);

      assert.deepEqual(await rolesHeldBy(f, table, f.campaigns.address), CAMPAIGN_REGISTRY_ROLES);
      assert.deepEqual(await rolesHeldBy(f, table, f.redemptions.address), REDEMPTION_REGISTRY_ROLES);
    });

    it("leaves the factory, and anyone else, without any role", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const table = await suiteRoles(f);

      assert.deepEqual(await rolesHeldBy(f, table, f.factory.address), []);
      assert.deepEqual(await rolesHeldBy(f, table, f.accounts.outsider.account.address), []);
    });

    it("grants nothing more: the RoleGranted events are exactly the grants above, all made by the factory", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const table = await suiteRoles(f);
      const receipt = await receiptOf(f, f.created.transactionHash);
      const labelOf = (address: Address, role: Hex) => {
        const entry = table.find((e) => e.address.toLowerCase() === address.toLowerCase())!;
        return `${entry.contract}.${Object.entries(entry.roles).find(([, id]) => id === role)![0]}`;
      };
      const granted = parseEventLogs({ abi: pointsTokenAbi, eventName: "RoleGranted", logs: receipt.logs });
      const revoked = parseEventLogs({ abi: pointsTokenAbi, eventName: "RoleRevoked", logs: receipt.logs });
      const grants = granted.map((log) => `${labelOf(log.address, log.args.role)} -> ${getAddress(log.args.account)}`);
      const grantsTo = (account: Address, labels: string[]) => labels.map((l) => `${l} -> ${getAddress(account)}`);
      const expected = [
        ...grantsTo(f.accounts.tenantAdmin.account.address, ADMIN_ROLES),
        ...grantsTo(f.accounts.platform.account.address, OPERATOR_ROLES),
        ...grantsTo(f.secondOperator.account.address, OPERATOR_ROLES),
        ...grantsTo(f.campaigns.address, CAMPAIGN_REGISTRY_ROLES),
        ...grantsTo(f.redemptions.address, REDEMPTION_REGISTRY_ROLES),
      ];

      assert.deepEqual(grants.sort(), expected.sort());
      assert.deepEqual(
        [...new Set(granted.map((log) => getAddress(log.args.sender)))],
        [getAddress(f.factory.address)],
      );
      assert.equal(revoked.length, 0);
    });

    it("lets the admin revoke an operator's role, after which the operator is refused", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const operator = f.accounts.platform.account;
      const managerRole = await f.campaigns.read.CAMPAIGN_MANAGER_ROLE();
      const start = await now(f);
      const config = { start, end: start + DAY, perUserLimit: 1, budget: 10n };
      const payouts = [{ token: f.points.address, id: 0n, amount: 5n }];
      await f.campaigns.write.createCampaign([config, payouts], { account: operator });

      await f.campaigns.write.revokeRole([managerRole, operator.address], {
        account: f.accounts.tenantAdmin.account,
      });

      assert.equal(await f.campaigns.read.hasRole([managerRole, operator.address]), false);
      await viem.assertions.revertWithCustomErrorWithArgs(
        f.campaigns.write.createCampaign([config, payouts], { account: operator }),
        f.campaigns,
        "AccessControlUnauthorizedAccount",
        [getAddress(operator.address), managerRole],
      );
      // The other operator keeps its role.
      await f.campaigns.write.createCampaign([config, payouts], { account: f.secondOperator.account });
      assert.equal(await f.campaigns.read.campaignCount(), 2n);
    });

    it("does not let an operator revoke the admin or grant itself admin", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const operator = f.accounts.platform.account;
      const adminRole = await f.points.read.DEFAULT_ADMIN_ROLE();

      await viem.assertions.revertWithCustomErrorWithArgs(
        f.points.write.grantRole([adminRole, operator.address], { account: operator }),
        f.points,
        "AccessControlUnauthorizedAccount",
        [getAddress(operator.address), adminRole],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        f.points.write.revokeRole([adminRole, f.accounts.tenantAdmin.account.address], { account: operator }),
        f.points,
        "AccessControlUnauthorizedAccount",
        [getAddress(operator.address), adminRole],
      );
    });
  });

  describe("errors", () => {
    it("reverts with TenantFactoryTenantExists when the same creator reuses an externalId", async () => {
      const f = await networkHelpers.loadFixture(fixture);

      await viem.assertions.revertWithCustomErrorWithArgs(
        f.factory.write.createTenant([EXTERNAL_ID, tenantParams(f, f.accounts.outsider.account.address)]),
        f.factory,
        "TenantFactoryTenantExists",
        [f.tenantId],
      );
    });

    it("gives another creator using the same externalId a different tenant and suite", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const outsider = f.accounts.outsider;
      const otherId = await f.factory.read.tenantIdOf([outsider.account.address, EXTERNAL_ID]);

      const other = await createTenant({
        publicClient: f.publicClient,
        walletClient: outsider,
        factory: f.factory.address,
        externalId: EXTERNAL_ID,
        admin: outsider.account.address,
        operators: [],
        points: { name: "Other", symbol: "OTH", decimals: 0 },
      });

      assert.equal(other.tenantId, otherId);
      assert.notEqual(other.tenantId, f.tenantId);
      const ours = new Set(Object.values(f.created.suite));
      for (const address of Object.values(other.suite)) assert.equal(ours.has(address), false);
      assert.deepEqual(await f.factory.read.getTenant([f.tenantId]), f.created.suite);
      assert.deepEqual(await f.factory.read.getTenant([otherId]), other.suite);
    });

    it("reverts with TenantFactoryInvalidAdmin when the admin is the zero address", async () => {
      const f = await networkHelpers.loadFixture(fixture);

      await viem.assertions.revertWithCustomErrorWithArgs(
        f.factory.write.createTenant([asHex("no-admin"), tenantParams(f, zeroAddress)]),
        f.factory,
        "TenantFactoryInvalidAdmin",
        [zeroAddress],
      );
    });

    it("reverts with TenantFactoryImplementationMissing on a factory that lacks an implementation", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const owner = f.accounts.platform.account.address;
      const fresh = await viem.deployContract("TenantFactory", [owner]);

      await viem.assertions.revertWithCustomErrorWithArgs(
        fresh.write.createTenant([EXTERNAL_ID, tenantParams(f)]),
        fresh,
        "TenantFactoryImplementationMissing",
        [ContractKind.POINTS_TOKEN],
      );

      const { implementations } = f.deployment.contracts;
      await fresh.write.setCurrentImplementation([ContractKind.POINTS_TOKEN, implementations.PointsToken]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        fresh.write.createTenant([EXTERNAL_ID, tenantParams(f)]),
        fresh,
        "TenantFactoryImplementationMissing",
        [ContractKind.REWARD_TOKEN],
      );
    });
  });
});

describe("addPointsToken", () => {
  const params = (f: Fixture) => ({
    name: "Miles",
    symbol: "MLS",
    decimals: 2,
    issuers: [f.secondOperator.account.address],
  });

  it("adds a second points token at index 1, emitting PointsTokenAdded", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const admin = f.accounts.tenantAdmin.account;
    const predicted = await f.factory.read.predictPointsToken([f.tenantId, 1n]);
    const { result: token } = await f.factory.simulate.addPointsToken([f.tenantId, params(f)], {
      account: admin.address,
    });
    assert.equal(token, predicted);
    assert.equal(await f.factory.read.predictPointsToken([f.tenantId, 0n]), f.created.suite.pointsToken);

    await viem.assertions.emitWithArgs(
      f.factory.write.addPointsToken([f.tenantId, params(f)], { account: admin }),
      f.factory,
      "PointsTokenAdded",
      [f.tenantId, token, 1n],
    );

    assert.deepEqual(await f.factory.read.getPointsTokens([f.tenantId]), [f.created.suite.pointsToken, token]);
    assert.deepEqual(await f.factory.read.getTenant([f.tenantId]), f.created.suite);
    const miles = await viem.getContractAt("PointsToken", token);
    assert.equal(await miles.read.name(), "Miles");
    assert.equal(await miles.read.symbol(), "MLS");
    assert.equal(await miles.read.decimals(), 2);
    assert.equal(await miles.read.factory(), getAddress(f.factory.address));
    assert.equal(await miles.read.contractKind(), ContractKind.POINTS_TOKEN);
    assert.equal(await implementationOf(f.publicClient, token), f.deployment.contracts.implementations.PointsToken);
  });

  it("wires the new token's roles: the caller administers it, the programme contracts mint and burn, the issuers issue", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const admin = f.accounts.tenantAdmin.account;
    const { result: token } = await f.factory.simulate.addPointsToken([f.tenantId, params(f)], {
      account: admin.address,
    });
    await receiptOf(f, f.factory.write.addPointsToken([f.tenantId, params(f)], { account: admin }));
    const miles = await viem.getContractAt("PointsToken", token);
    const table: RoleTable = [{ contract: "PointsToken", address: token, roles: await pointsRoles(miles) }];

    assert.deepEqual(await rolesHeldBy(f, table, admin.address), [
      "PointsToken.DEFAULT_ADMIN_ROLE",
      "PointsToken.PAUSER_ROLE",
      "PointsToken.UPGRADER_ROLE",
    ]);
    assert.deepEqual(await rolesHeldBy(f, table, f.campaigns.address), ["PointsToken.MINTER_ROLE"]);
    assert.deepEqual(await rolesHeldBy(f, table, f.redemptions.address), ["PointsToken.BURNER_ROLE"]);
    assert.deepEqual(await rolesHeldBy(f, table, f.secondOperator.account.address), ["PointsToken.ISSUER_ROLE"]);
    assert.deepEqual(await rolesHeldBy(f, table, f.accounts.platform.account.address), []);
    assert.deepEqual(await rolesHeldBy(f, table, f.factory.address), []);
  });

  it("lets the tenant's campaigns pay the new token", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const admin = f.accounts.tenantAdmin.account;
    const { result: token } = await f.factory.simulate.addPointsToken([f.tenantId, params(f)], {
      account: admin.address,
    });
    await receiptOf(f, f.factory.write.addPointsToken([f.tenantId, params(f)], { account: admin }));
    const start = await now(f);
    await receiptOf(
      f,
      f.campaigns.write.createCampaign([
        { start, end: start + DAY, perUserLimit: 1, budget: 10n },
        [{ token, id: 0n, amount: 250n }],
      ]),
    );

    await f.campaigns.write.claim([claimRequest(1n, 1n, f.accounts.alice.account.address)]);

    const miles = await viem.getContractAt("PointsToken", token);
    assert.equal(await miles.read.balanceOf([f.accounts.alice.account.address]), 250n);
  });

  it("reverts with TenantFactoryTenantNotFound for an unknown tenant", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const unknown = asHex("unknown-tenant");

    await viem.assertions.revertWithCustomErrorWithArgs(
      f.factory.write.addPointsToken([unknown, params(f)], { account: f.accounts.tenantAdmin.account }),
      f.factory,
      "TenantFactoryTenantNotFound",
      [unknown],
    );
  });

  for (const who of ["platform", "outsider"] as const) {
    it(`reverts with TenantFactoryUnauthorized when the ${who === "platform" ? "operator" : "outsider"} calls it`, async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const caller = f.accounts[who].account;

      await viem.assertions.revertWithCustomErrorWithArgs(
        f.factory.write.addPointsToken([f.tenantId, params(f)], { account: caller }),
        f.factory,
        "TenantFactoryUnauthorized",
        [f.tenantId, getAddress(caller.address)],
      );
    });
  }
});

describe("getTenant and getPointsTokens", () => {
  it("return the suite and its one points token after creation", async () => {
    const f = await networkHelpers.loadFixture(fixture);

    assert.deepEqual(await f.factory.read.getTenant([f.tenantId]), f.created.suite);
    assert.deepEqual(await f.factory.read.getPointsTokens([f.tenantId]), [f.created.suite.pointsToken]);
  });

  it("return an empty suite and no points token for an unknown tenant", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const unknown = asHex("unknown-tenant");

    assert.deepEqual(await f.factory.read.getTenant([unknown]), {
      pointsToken: zeroAddress,
      rewardToken: zeroAddress,
      statusToken: zeroAddress,
      campaignRegistry: zeroAddress,
      redemptionRegistry: zeroAddress,
    });
    assert.deepEqual(await f.factory.read.getPointsTokens([unknown]), []);
  });
});

describe("implementations", () => {
  const newPointsImplementation = async (f: ProtocolFixture) =>
    getAddress((await viem.deployContract("PointsToken", [f.forwarder.address])).address);

  describe("setCurrentImplementation", () => {
    it("makes an implementation current and approved, emitting CurrentImplementationSet and ImplementationApproved", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const previous = f.deployment.contracts.implementations.PointsToken;
      const implementation = await newPointsImplementation(f);

      const hash = await f.factory.write.setCurrentImplementation([ContractKind.POINTS_TOKEN, implementation]);

      await viem.assertions.emitWithArgs(hash, f.factory, "CurrentImplementationSet", [
        ContractKind.POINTS_TOKEN,
        implementation,
      ]);
      await viem.assertions.emitWithArgs(hash, f.factory, "ImplementationApproved", [
        ContractKind.POINTS_TOKEN,
        implementation,
        true,
      ]);
      assert.equal(await f.factory.read.currentImplementation([ContractKind.POINTS_TOKEN]), implementation);
      assert.equal(await f.factory.read.isApprovedImplementation([ContractKind.POINTS_TOKEN, implementation]), true);
      assert.equal(await f.factory.read.isApprovedImplementation([ContractKind.POINTS_TOKEN, previous]), true);
      assert.equal(await f.factory.read.isApprovedImplementation([ContractKind.REWARD_TOKEN, implementation]), false);
    });

    it("gives new tenants the new implementation at the addresses predicted before the change, leaving existing ones as they were", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const externalId = asHex("after-change");
      const creator = f.accounts.platform.account.address;
      const before = await f.factory.read.predictTenantSuite([creator, externalId]);
      const implementation = await newPointsImplementation(f);
      await receiptOf(f, f.factory.write.setCurrentImplementation([ContractKind.POINTS_TOKEN, implementation]));

      const after = await f.factory.read.predictTenantSuite([creator, externalId]);
      const created = await createTenant({
        publicClient: f.publicClient,
        walletClient: f.accounts.platform,
        factory: f.factory.address,
        externalId,
        admin: f.accounts.tenantAdmin.account.address,
        operators: [],
        points: { name: "New", symbol: "NEW", decimals: 18 },
      });

      // The proxy's creation code does not carry the implementation: no address moves.
      assert.deepEqual(after, before);
      assert.deepEqual(created.suite, before);
      assert.equal(await implementationOf(f.publicClient, created.suite.pointsToken), implementation);
      assert.equal(
        await implementationOf(f.publicClient, f.created.suite.pointsToken),
        f.deployment.contracts.implementations.PointsToken,
      );
    });

    it("emits no ImplementationApproved for an implementation already approved", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const implementation = await newPointsImplementation(f);
      await receiptOf(f, f.factory.write.setImplementationApproval([ContractKind.POINTS_TOKEN, implementation, true]));

      const receipt = await receiptOf(
        f,
        f.factory.write.setCurrentImplementation([ContractKind.POINTS_TOKEN, implementation]),
      );

      const events = parseEventLogs({ abi: tenantFactoryAbi, logs: receipt.logs }).map((log) => log.eventName);
      assert.deepEqual(events, ["CurrentImplementationSet"]);
      assert.equal(await f.factory.read.currentImplementation([ContractKind.POINTS_TOKEN]), implementation);
    });

    it("reverts with OwnableUnauthorizedAccount for anyone but the owner", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const implementation = await newPointsImplementation(f);
      for (const caller of [f.accounts.outsider.account, f.accounts.tenantAdmin.account]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          f.factory.write.setCurrentImplementation([ContractKind.POINTS_TOKEN, implementation], { account: caller }),
          f.factory,
          "OwnableUnauthorizedAccount",
          [getAddress(caller.address)],
        );
      }
    });

    it("reverts with TenantFactoryImplementationKindMismatch for another kind's implementation or an EOA", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const rewardImplementation = f.deployment.contracts.implementations.RewardToken;
      const eoa = getAddress(f.accounts.outsider.account.address);

      await viem.assertions.revertWithCustomErrorWithArgs(
        f.factory.write.setCurrentImplementation([ContractKind.POINTS_TOKEN, rewardImplementation]),
        f.factory,
        "TenantFactoryImplementationKindMismatch",
        [ContractKind.POINTS_TOKEN, rewardImplementation],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        f.factory.write.setCurrentImplementation([ContractKind.STATUS_TOKEN, eoa]),
        f.factory,
        "TenantFactoryImplementationKindMismatch",
        [ContractKind.STATUS_TOKEN, eoa],
      );
      assert.equal(
        await f.factory.read.currentImplementation([ContractKind.POINTS_TOKEN]),
        f.deployment.contracts.implementations.PointsToken,
      );
    });
  });

  describe("setImplementationApproval", () => {
    it("approves an implementation and withdraws the approval, emitting ImplementationApproved each time", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const implementation = await newPointsImplementation(f);

      await viem.assertions.emitWithArgs(
        f.factory.write.setImplementationApproval([ContractKind.POINTS_TOKEN, implementation, true]),
        f.factory,
        "ImplementationApproved",
        [ContractKind.POINTS_TOKEN, implementation, true],
      );
      assert.equal(await f.factory.read.isApprovedImplementation([ContractKind.POINTS_TOKEN, implementation]), true);
      assert.equal(
        await f.factory.read.currentImplementation([ContractKind.POINTS_TOKEN]),
        f.deployment.contracts.implementations.PointsToken,
      );

      await viem.assertions.emitWithArgs(
        f.factory.write.setImplementationApproval([ContractKind.POINTS_TOKEN, implementation, false]),
        f.factory,
        "ImplementationApproved",
        [ContractKind.POINTS_TOKEN, implementation, false],
      );
      assert.equal(await f.factory.read.isApprovedImplementation([ContractKind.POINTS_TOKEN, implementation]), false);
    });

    it("reverts with TenantFactoryImplementationInUse when withdrawing the current implementation", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const current = f.deployment.contracts.implementations.CampaignRegistry;

      await viem.assertions.revertWithCustomErrorWithArgs(
        f.factory.write.setImplementationApproval([ContractKind.CAMPAIGN_REGISTRY, current, false]),
        f.factory,
        "TenantFactoryImplementationInUse",
        [ContractKind.CAMPAIGN_REGISTRY, current],
      );
      assert.equal(await f.factory.read.isApprovedImplementation([ContractKind.CAMPAIGN_REGISTRY, current]), true);
    });

    it("lets the owner withdraw a previous implementation once another is current", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const previous = f.deployment.contracts.implementations.PointsToken;
      await receiptOf(
        f,
        f.factory.write.setCurrentImplementation([ContractKind.POINTS_TOKEN, await newPointsImplementation(f)]),
      );

      await f.factory.write.setImplementationApproval([ContractKind.POINTS_TOKEN, previous, false]);

      assert.equal(await f.factory.read.isApprovedImplementation([ContractKind.POINTS_TOKEN, previous]), false);
    });

    it("reverts with TenantFactoryImplementationKindMismatch when approving another kind's implementation or an EOA", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const pointsImplementation = f.deployment.contracts.implementations.PointsToken;
      const eoa = getAddress(f.accounts.outsider.account.address);

      await viem.assertions.revertWithCustomErrorWithArgs(
        f.factory.write.setImplementationApproval([ContractKind.REWARD_TOKEN, pointsImplementation, true]),
        f.factory,
        "TenantFactoryImplementationKindMismatch",
        [ContractKind.REWARD_TOKEN, pointsImplementation],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        f.factory.write.setImplementationApproval([ContractKind.POINTS_TOKEN, eoa, true]),
        f.factory,
        "TenantFactoryImplementationKindMismatch",
        [ContractKind.POINTS_TOKEN, eoa],
      );
    });

    it("reverts with OwnableUnauthorizedAccount for anyone but the owner", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const implementation = await newPointsImplementation(f);
      const outsider = f.accounts.outsider.account;

      await viem.assertions.revertWithCustomErrorWithArgs(
        f.factory.write.setImplementationApproval([ContractKind.POINTS_TOKEN, implementation, true], {
          account: outsider,
        }),
        f.factory,
        "OwnableUnauthorizedAccount",
        [getAddress(outsider.address)],
      );
    });
  });

  it("reports every deployed implementation as current and approved for its kind only", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { implementations } = f.deployment.contracts;
    const byKind = [
      [ContractKind.POINTS_TOKEN, implementations.PointsToken],
      [ContractKind.REWARD_TOKEN, implementations.RewardToken],
      [ContractKind.STATUS_TOKEN, implementations.StatusToken],
      [ContractKind.CAMPAIGN_REGISTRY, implementations.CampaignRegistry],
      [ContractKind.REDEMPTION_REGISTRY, implementations.RedemptionRegistry],
    ] as const;

    for (const [kind, implementation] of byKind) {
      assert.equal(await f.factory.read.currentImplementation([kind]), implementation);
      for (const [otherKind] of byKind) {
        assert.equal(await f.factory.read.isApprovedImplementation([otherKind, implementation]), otherKind === kind);
      }
    }
  });
});

describe("ownership (Ownable2Step)", () => {
  it("moves only when the new owner accepts", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { platform, protocolOwner, outsider } = f.accounts;
    const implementation = f.deployment.contracts.implementations.PointsToken;

    await viem.assertions.emitWithArgs(
      f.factory.write.transferOwnership([protocolOwner.account.address]),
      f.factory,
      "OwnershipTransferStarted",
      [platform.account.address, protocolOwner.account.address],
    );
    assert.equal(await f.factory.read.owner(), getAddress(platform.account.address));
    assert.equal(await f.factory.read.pendingOwner(), getAddress(protocolOwner.account.address));
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.factory.write.acceptOwnership({ account: outsider.account }),
      f.factory,
      "OwnableUnauthorizedAccount",
      [getAddress(outsider.account.address)],
    );

    await viem.assertions.emitWithArgs(
      f.factory.write.acceptOwnership({ account: protocolOwner.account }),
      f.factory,
      "OwnershipTransferred",
      [platform.account.address, protocolOwner.account.address],
    );
    assert.equal(await f.factory.read.owner(), getAddress(protocolOwner.account.address));
    assert.equal(await f.factory.read.pendingOwner(), zeroAddress);

    await viem.assertions.revertWithCustomErrorWithArgs(
      f.factory.write.setCurrentImplementation([ContractKind.POINTS_TOKEN, implementation]),
      f.factory,
      "OwnableUnauthorizedAccount",
      [getAddress(platform.account.address)],
    );
    await f.factory.write.setCurrentImplementation([ContractKind.POINTS_TOKEN, implementation], {
      account: protocolOwner.account,
    });
  });
});

describe("initialisers", () => {
  it("reverts with InvalidInitialization when a tenant proxy is initialised again", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const attacker = f.accounts.outsider.account;
    const self = attacker.address;

    await viem.assertions.revertWithCustomError(
      f.points.write.initialize(["X", "X", 18, self, []], { account: attacker }),
      f.points,
      "InvalidInitialization",
    );
    await viem.assertions.revertWithCustomError(
      f.reward.write.initialize(["", self, []], { account: attacker }),
      f.reward,
      "InvalidInitialization",
    );
    await viem.assertions.revertWithCustomError(
      f.status.write.initialize(["", self, []], { account: attacker }),
      f.status,
      "InvalidInitialization",
    );
    await viem.assertions.revertWithCustomError(
      f.campaigns.write.initialize([self, []], { account: attacker }),
      f.campaigns,
      "InvalidInitialization",
    );
    await viem.assertions.revertWithCustomError(
      f.redemptions.write.initialize([self, []], { account: attacker }),
      f.redemptions,
      "InvalidInitialization",
    );
    assert.equal(await f.points.read.hasRole([await f.points.read.DEFAULT_ADMIN_ROLE(), self]), false);
  });

  it("reverts with InvalidInitialization when an implementation is initialised", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { implementations } = f.deployment.contracts;
    const attacker = f.accounts.outsider.account;
    const self = attacker.address;
    const points = await viem.getContractAt("PointsToken", implementations.PointsToken);
    const reward = await viem.getContractAt("RewardToken", implementations.RewardToken);
    const status = await viem.getContractAt("StatusToken", implementations.StatusToken);
    const campaigns = await viem.getContractAt("CampaignRegistry", implementations.CampaignRegistry);
    const redemptions = await viem.getContractAt("RedemptionRegistry", implementations.RedemptionRegistry);

    await viem.assertions.revertWithCustomError(
      points.write.initialize(["X", "X", 18, self, []], { account: attacker }),
      points,
      "InvalidInitialization",
    );
    await viem.assertions.revertWithCustomError(
      reward.write.initialize(["", self, []], { account: attacker }),
      reward,
      "InvalidInitialization",
    );
    await viem.assertions.revertWithCustomError(
      status.write.initialize(["", self, []], { account: attacker }),
      status,
      "InvalidInitialization",
    );
    await viem.assertions.revertWithCustomError(
      campaigns.write.initialize([self, []], { account: attacker }),
      campaigns,
      "InvalidInitialization",
    );
    await viem.assertions.revertWithCustomError(
      redemptions.write.initialize([self, []], { account: attacker }),
      redemptions,
      "InvalidInitialization",
    );
  });
});
