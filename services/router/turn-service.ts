/**
 * The router's public API over gRPC: TurnService, admitted to the client
 * identities bound to a tenant, with the turn pipeline behind it.
 */
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import { TurnService } from "../../gen/es/selene/os/v1/turn_pb.js";
import type { BoundaryValidator } from "../runtime/boundary-validator.js";
import type { Logger } from "../runtime/logger.js";
import { allowOnly, type BoundaryRefusal, implementService } from "../runtime/unary-service.js";
import { spiffeIdOf } from "../runtime/workload-identities.js";
import type { TurnHandler } from "./turn-pipeline.js";

/** The grpc-js implementation of TurnService. */
export function turnServiceImplementation(
  submitTurn: TurnHandler,
  clientTenants: ReadonlyMap<string, string>,
  validator: BoundaryValidator,
  logger: Logger,
  onRefused: (refusal: BoundaryRefusal) => void,
): UntypedServiceImplementation {
  return implementService(
    TurnService,
    { submitTurn },
    { validator, logger, authorize: allowOnly([...clientTenants.keys()]), self: spiffeIdOf("router"), onRefused },
  );
}
