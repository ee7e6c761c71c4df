/**
 * The case that holds an engine to its catalog entry (policy/engines.json, or the file given with
 * --catalog): the capabilities its Describe gives are exactly the ones the catalog lets it serve,
 * each of the catalog's kind. The router withdraws a capability whose engine does not describe it
 * with the catalog's kind, and never routes one the catalog does not give the engine, so a
 * disagreement is a capability that will not be served.
 */
import { kindName } from "../services/runtime/policy/engine-catalog.js";
import { type ConformanceCase, check } from "./conformance-case.js";

/** Describe agrees with the catalog's entry for the engine. */
export const catalogCase: ConformanceCase = {
  group: "describe",
  name: "Describe agrees with the engine catalog: the same capabilities as the engine's entry, each of the same kind",
  async run({ catalog, description, target }) {
    if (catalog === undefined) return { skipped: "no engine catalog given (--catalog FILE)" };
    if (description === undefined) return { skipped: "Describe could not be read" };
    const entry = catalog.catalog.engines.find((engine) => engine.name === target.engine);
    check(entry !== undefined, `${catalog.file} has no engine named "${target.engine}"`);
    const listed = new Map(entry.capabilities.map((c) => [c.name, kindName(c.kind)]));
    const described = new Map(description.capabilities.map((c) => [c.name, kindName(c.kind)]));
    const faults = [
      ...[...listed].flatMap(([name, kind]) => {
        const got = described.get(name);
        if (got === undefined) return [`${name} (${kind}) is in the catalog but not described`];
        return got === kind ? [] : [`${name} is ${kind} in the catalog but described as ${got}`];
      }),
      ...[...described]
        .filter(([name]) => !listed.has(name))
        .map(([name, kind]) => `${name} (${kind}) is described but not in the catalog's entry`),
    ];
    check(faults.length === 0, `${catalog.file}: ${faults.join("; ")}`);
    return undefined;
  },
};
