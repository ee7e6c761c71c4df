/**
 * Builds an engine's DescribeResponse: its id, SPIFFE id, capabilities and the
 * contract versions it accepts (from the one version policy).
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CapabilitySchema, DescribeResponseSchema } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { supportedRange } from "./contract-version.js";
import { spiffeIdOf } from "./workload-identities.js";

/** The DescribeResponse of engine `name` with `capabilities`. */
export function describeEngine(
  name: string,
  capabilities: MessageInitShape<typeof CapabilitySchema>[],
): MessageInitShape<typeof DescribeResponseSchema> {
  const { min, max } = supportedRange();
  const versions = [];
  for (let minor = min.minor; minor <= max.minor; minor++) versions.push({ major: max.major, minor });
  return { engineId: name, spiffeId: spiffeIdOf(name), capabilities, supportedVersions: versions };
}
