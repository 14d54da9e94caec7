// ERC-2771 requests relayed through the protocol's OpenZeppelin forwarder to tenant contracts: the
// target sees the signer, and a request pays once, before its deadline, on this chain, to the
// contract and call that were signed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { encodeFunctionData, getAddress, isAddressEqual, recoverTypedDataAddress, type Address } from "viem";
import { IssueReason } from "../abi/enums.ts";
import { pointsTokenAbi } from "../abi/pointsToken.ts";
import { FORWARDER_NAME } from "../deploy/protocol.ts";
import { forwardRequestTypes, signForwardRequest, type ForwardRequestData } from "../deploy/signatures.ts";
import { addTenant, asHex, now, tenantFixture, type Tenant, type TenantFixture } from "./helpers/fixtures.ts";

const { viem, networkHelpers } = await network.create();

const HELD = 100n;
const GAS = 100_000n;

/** Two tenants of the same platform; alice holds points of both, issued by the platform. */
const fixture = async () => {
  const f = await tenantFixture(viem);
  const tenantB = await addTenant(f, "tenant-b");
  const alice = f.accounts.alice.account.address;
  for (const [tenant, ref] of [
    [f.tenant, "grant-a"],
    [tenantB, "grant-b"],
  ] as const) {
    await f.publicClient.waitForTransactionReceipt({
      hash: await tenant.points.write.issue([alice, HELD, IssueReason.GRANT, asHex(ref)]),
    });
  }
  return { ...f, tenantB };
};
type Fixture = Awaited<ReturnType<typeof fixture>>;

const transferData = (to: Address, amount: bigint) =>
  encodeFunctionData({ abi: pointsTokenAbi, functionName: "transfer", args: [to, amount] });

/** Alice's signed request to transfer `amount` of `tenant`'s points to bob. */
async function signTransfer(
  f: Fixture,
  {
    tenant = f.tenant,
    amount = 40n,
    deadlineIn = 3600,
    chainId,
  }: {
    tenant?: Tenant;
    amount?: bigint;
    deadlineIn?: number;
    chainId?: number;
  } = {},
): Promise<ForwardRequestData> {
  return signForwardRequest({
    publicClient: f.publicClient,
    signer: f.accounts.alice,
    forwarder: f.forwarder.address,
    to: tenant.points.address,
    data: transferData(f.accounts.bob.account.address, amount),
    gas: GAS,
    deadline: (await now(f)) + deadlineIn,
    ...(chainId === undefined ? {} : { chainId }),
  });
}

/** The signer the forwarder recovers from `request` with the signer's current nonce. */
async function recoveredBy(f: TenantFixture, request: ForwardRequestData): Promise<Address> {
  const { signature, ...message } = request;
  return recoverTypedDataAddress({
    domain: {
      name: FORWARDER_NAME,
      version: "1",
      chainId: await f.publicClient.getChainId(),
      verifyingContract: f.forwarder.address,
    },
    types: forwardRequestTypes,
    primaryType: "ForwardRequest",
    message: { ...message, nonce: await f.forwarder.read.nonces([request.from]) },
    signature,
  });
}

const relay = (f: TenantFixture, request: ForwardRequestData) =>
  f.forwarder.write.execute([request], { account: f.accounts.outsider.account });

async function assertInvalidSigner(f: Fixture, request: ForwardRequestData) {
  const recovered = await recoveredBy(f, request);
  assert.ok(!isAddressEqual(recovered, request.from), "the signature recovers someone else");
  await viem.assertions.revertWithCustomErrorWithArgs(relay(f, request), f.forwarder, "ERC2771ForwarderInvalidSigner", [
    recovered,
    request.from,
  ]);
}

describe("ERC2771Forwarder with tenant contracts", () => {
  describe("execute", () => {
    it("moves the signer's points when a relayer submits her signed transfer", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const [alice, bob] = [f.accounts.alice, f.accounts.bob].map((wallet) => getAddress(wallet.account.address)) as [
        Address,
        Address,
      ];
      const request = await signTransfer(f, { amount: 40n });
      assert.equal(await f.forwarder.read.verify([request]), true);

      const hash = await relay(f, request);
      await viem.assertions.emitWithArgs(hash, f.forwarder, "ExecutedForwardRequest", [alice, 0n, true]);
      await viem.assertions.emitWithArgs(hash, points, "Transfer", [alice, bob, 40n]);
      assert.equal(await points.read.balanceOf([alice]), HELD - 40n);
      assert.equal(await points.read.balanceOf([bob]), 40n);
      assert.equal(await points.read.balanceOf([f.accounts.outsider.account.address]), 0n);
      assert.equal(await f.forwarder.read.nonces([alice]), 1n);
    });

    it("accepts a request in the second of its deadline", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const request = await signTransfer(f, { deadlineIn: 600 });

      await networkHelpers.time.setNextBlockTimestamp(request.deadline);
      await f.publicClient.waitForTransactionReceipt({ hash: await relay(f, request) });
      assert.equal((await f.publicClient.getBlock()).timestamp, BigInt(request.deadline));
      assert.equal(await f.tenant.points.read.balanceOf([f.accounts.bob.account.address]), 40n);
    });

    it("reverts with ERC2771ForwarderInvalidSigner when the same request is replayed", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const request = await signTransfer(f, { amount: 40n });
      await f.publicClient.waitForTransactionReceipt({ hash: await relay(f, request) });

      // The signed nonce is spent, so the signature recovers another account under the next one.
      await assertInvalidSigner(f, request);
      assert.equal(await f.tenant.points.read.balanceOf([f.accounts.bob.account.address]), 40n);
      assert.equal(await f.forwarder.read.nonces([request.from]), 1n);
    });

    it("reverts with ERC2771ForwarderExpiredRequest after the deadline", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const request = await signTransfer(f, { deadlineIn: 600 });
      await networkHelpers.time.increaseTo(request.deadline);

      await viem.assertions.revertWithCustomErrorWithArgs(
        relay(f, request),
        f.forwarder,
        "ERC2771ForwarderExpiredRequest",
        [request.deadline],
      );
      assert.equal(await f.tenant.points.read.balanceOf([f.accounts.bob.account.address]), 0n);
    });

    it("reverts with ERC2771ForwarderInvalidSigner for a request signed for another chain id", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const chainId = await f.publicClient.getChainId();

      await assertInvalidSigner(f, await signTransfer(f, { chainId: chainId + 1 }));
      assert.equal(await f.forwarder.read.nonces([f.accounts.alice.account.address]), 0n);
    });

    it("reverts with ERC2771ForwarderInvalidSigner when the signature is replayed against another tenant's token", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const request = await signTransfer(f, { tenant: f.tenant });

      await assertInvalidSigner(f, { ...request, to: getAddress(f.tenantB.points.address) });
      assert.equal(await f.tenantB.points.read.balanceOf([f.accounts.alice.account.address]), HELD);
      assert.equal(await f.tenantB.points.read.balanceOf([f.accounts.bob.account.address]), 0n);
    });

    it("reverts with ERC2771ForwarderInvalidSigner when the call, its gas or its deadline is changed", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const request = await signTransfer(f, { amount: 40n });

      for (const changed of [
        { ...request, data: transferData(f.accounts.bob.account.address, HELD) },
        { ...request, data: transferData(f.accounts.outsider.account.address, 40n) },
        { ...request, gas: GAS * 2n },
        { ...request, deadline: request.deadline + 1 },
      ]) {
        await assertInvalidSigner(f, changed);
      }
      assert.equal(await f.tenant.points.read.balanceOf([f.accounts.alice.account.address]), HELD);
    });

    it("reverts with FailedCall and keeps the nonce when the relayed call reverts", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const request = await signTransfer(f, { amount: HELD + 1n });

      await viem.assertions.revertWithCustomError(relay(f, request), f.forwarder, "FailedCall");
      assert.equal(await f.forwarder.read.nonces([request.from]), 0n);
      assert.equal(await f.tenant.points.read.balanceOf([request.from]), HELD);
    });

    it("reverts with ERC2771UntrustfulTarget for a target that does not trust the forwarder (the factory)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const request = await signForwardRequest({
        publicClient: f.publicClient,
        signer: f.accounts.alice,
        forwarder: f.forwarder.address,
        to: f.factory.address,
        data: encodeFunctionData({ abi: f.factory.abi, functionName: "acceptOwnership" }),
        gas: GAS,
        deadline: (await now(f)) + 3600,
      });

      await viem.assertions.revertWithCustomErrorWithArgs(relay(f, request), f.forwarder, "ERC2771UntrustfulTarget", [
        getAddress(f.factory.address),
        getAddress(f.forwarder.address),
      ]);
    });
  });

  describe("isTrustedForwarder", () => {
    it("is true for the forwarder on every tenant contract, and false for any other address", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const params = { name: "Miles", symbol: "MLS", decimals: 18, issuers: [] };
      const { result: miles } = await f.factory.simulate.addPointsToken([f.tenant.tenantId, params], {
        account: f.accounts.tenantAdmin.account.address,
      });
      await f.publicClient.waitForTransactionReceipt({
        hash: await f.factory.write.addPointsToken([f.tenant.tenantId, params], {
          account: f.accounts.tenantAdmin.account,
        }),
      });
      const contracts: Address[] = [...Object.values(f.tenant.suite), ...Object.values(f.tenantB.suite), miles];
      assert.equal(contracts.length, 11);
      const others = [f.accounts.outsider.account.address, f.factory.address, f.tenant.suite.campaignRegistry];

      for (const address of contracts) {
        // Every tenant contract is a TenantUpgradeable; read it through one ABI.
        const contract = await viem.getContractAt("PointsToken", address);
        assert.equal(await contract.read.isTrustedForwarder([f.forwarder.address]), true, address);
        assert.equal(getAddress(await contract.read.trustedForwarder()), getAddress(f.forwarder.address), address);
        for (const other of others) {
          assert.equal(await contract.read.isTrustedForwarder([other]), false, `${address} trusts ${other}`);
        }
      }
    });
  });
});
