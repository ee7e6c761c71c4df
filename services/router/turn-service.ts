/**
 * The router's public API: TurnService, admitted to the client identities
 * bound to a tenant, with the turn pipeline behind it. One boundary, served on
 * the gRPC port and on the Connect port alike.
 */
import { TurnService } from "../../gen/es/selene/os/v1/turn_pb.js";
import { createServiceBoundary, type ServiceBoundary } from "../runtime/boundary/service-boundary.js";
import type { BoundaryValidator } from "../runtime/boundary-validator.js";
import type { Logger } from "../runtime/logger.js";
import { allowOnly, type BoundaryRefusal } from "../runtime/unary-service.js";
import { spiffeIdOf } from "../runtime/workload-identities.js";
import type { TurnHandler } from "./turn-pipeline.js";

/** The boundary of TurnService over the turn handler. */
export function turnServiceBoundary(
  submitTurn: TurnHandler,
  clientTenants: ReadonlyMap<string, string>,
  validator: BoundaryValidator,
  logger: Logger,
  onRefused: (refusal: BoundaryRefusal) => void,
): ServiceBoundary {
  return createServiceBoundary(
    TurnService,
    { submitTurn },
    { validator, logger, authorize: allowOnly([...clientTenants.keys()]), self: spiffeIdOf("router"), onRefused },
  );
}
