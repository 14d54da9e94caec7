// A trigger's conditions are json-rules-engine conditions over the claim's facts. They are checked
// here, when they are written, by the same library that will evaluate them: what it cannot build, or
// an operator it does not know, is a validation error naming the field, never a failure at claim time.
import { Engine, Rule, type TopLevelCondition } from "json-rules-engine";
import { z } from "zod";

const operators = (new Engine() as unknown as { operators: { get(name: string): unknown } }).operators;

/** The conditions of a tree, nested ones included (the library checks their shape, not their operators). */
function conditionsIn(node: unknown): Record<string, unknown>[] {
  if (Array.isArray(node)) return node.flatMap(conditionsIn);
  if (!node || typeof node !== "object") return [];
  const { all, any, not } = node as Record<string, unknown>;
  return [node as Record<string, unknown>, ...[all, any, not].flatMap(conditionsIn)];
}

/** Why json-rules-engine refuses these conditions, or undefined when it accepts them. */
export function conditionsProblem(conditions: Record<string, unknown>): string | undefined {
  if (["all", "any", "not"].filter((key) => key in conditions).length !== 1) {
    return 'the root must have exactly one of "all", "any" or "not"';
  }
  try {
    new Rule({ conditions: conditions as TopLevelCondition, event: { type: "trigger" } });
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  for (const condition of conditionsIn(conditions)) {
    if ("condition" in condition) return "references to shared conditions are not supported";
    const { operator } = condition;
    if (typeof operator === "string" && !operators.get(operator)) return `unknown operator ${JSON.stringify(operator)}`;
  }
  return undefined;
}

export const ruleConditions = z
  .record(z.string(), z.unknown())
  .superRefine((conditions, ctx) => {
    const problem = conditionsProblem(conditions);
    if (problem) ctx.addIssue({ code: "custom", message: `not valid json-rules-engine conditions: ${problem}` });
  })
  .meta({
    id: "TriggerConditions",
    description: "json-rules-engine conditions over the claim's facts: one of all, any or not at the root",
    example: { all: [{ fact: "purchaseAmount", operator: "greaterThanInclusive", value: 10 }] },
  });
