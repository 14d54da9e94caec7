import { z } from "zod";
import { ContractKind } from "../../../../abi/enums.ts";

const evmAddress = z.string().meta({ pattern: "^0x[0-9a-fA-F]{40}$" });

export const contractKinds = Object.keys(ContractKind) as [keyof typeof ContractKind, ...(keyof typeof ContractKind)[]];

export const tenantContract = z
  .object({
    kind: z.enum(contractKinds),
    address: evmAddress.meta({ description: "The proxy: the address that never changes" }),
    index: z.number().int().meta({ description: "For points tokens, their place among the tenant's; otherwise 0" }),
    implementation: evmAddress.meta({ description: "The code the proxy runs now (its ERC-1967 slot)" }),
    factoryImplementation: evmAddress.meta({
      description: "The implementation the factory gives new contracts of this kind; differs when an upgrade is open",
    }),
  })
  .meta({ id: "TenantContract" });

export const tenantContracts = z
  .object({
    chainId: z.number().int(),
    onchainId: z.string().meta({ description: "The tenant's id in the TenantFactory" }),
    forwarder: evmAddress.meta({ description: "The ERC-2771 forwarder every tenant contract trusts" }),
    factory: evmAddress,
    contracts: z.array(tenantContract),
  })
  .meta({ id: "TenantContracts" });
