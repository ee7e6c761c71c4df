/**
 * The identity cases: the router is an engine's only client, so every other
 * identity of the PKI (the other workloads, the engine's own, the client apps
 * and the operator) is refused on every method with PERMISSION_DENIED and
 * MEDIATION_BYPASS, and a caller with no client certificate does not get past
 * the TLS handshake.
 */
import { existsSync } from "node:fs";
import { status } from "@grpc/grpc-js";
import { ReasonCode } from "../gen/es/selene/kernel/v1/reason_pb.js";
import { pkiFiles } from "../services/runtime/tls-credentials.js";
import { IDENTITIES } from "../services/runtime/workload-identities.js";
import { checkRefusal } from "./boundary-cases.js";
import { type ConformanceCase, check } from "./conformance-case.js";
import { describeOutcome, enginePath } from "./engine-caller.js";
import { ENGINE_METHODS, wellFormedRequest } from "./engine-requests.js";

const MEDIATION_BYPASS = { status: status.PERMISSION_DENIED, reason: ReasonCode.MEDIATION_BYPASS, fieldPath: "" };

/** One case per identity of the PKI other than the router's. */
function foreignIdentityCases(): ConformanceCase[] {
  return IDENTITIES.filter((identity) => identity.name !== "router").map((identity) => ({
    group: "identity",
    name: `refuses the ${identity.name} identity (${identity.spiffeId}) on every method with PERMISSION_DENIED, MEDIATION_BYPASS`,
    async run({ target, connectAs }) {
      const files = pkiFiles(target.pkiDir, identity.name);
      if (!existsSync(files.cert)) return { skipped: `the PKI directory has no certificate for ${identity.name}` };
      const caller = connectAs(identity.name);
      for (const method of ENGINE_METHODS) {
        const outcome = await caller.call(enginePath(method), wellFormedRequest(method));
        check(outcome.code !== status.OK, `${method} answered the ${identity.name} identity`);
        checkRefusal(outcome, MEDIATION_BYPASS);
      }
      return undefined;
    },
  }));
}

/** The case of a caller without a client certificate. */
const noCertificateCase: ConformanceCase = {
  group: "identity",
  name: "refuses a caller without a client certificate at the TLS handshake",
  async run({ connectAs }) {
    const outcome = await connectAs(undefined).call(enginePath("Describe"), wellFormedRequest("Describe"));
    check(outcome.code === status.UNAVAILABLE, `expected UNAVAILABLE (no handshake); got ${describeOutcome(outcome)}`);
    check(outcome.detail === undefined, "a handler answered: the error carries an ErrorDetail");
    return undefined;
  },
};

/** Every identity case. */
export function identityCases(): ConformanceCase[] {
  return [...foreignIdentityCases(), noCertificateCase];
}
