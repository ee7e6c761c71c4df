/** Today's contracts as one registry, from the generated descriptors (to look methods up by path). */
import { createRegistry, type Registry } from "@bufbuild/protobuf";
import { file_selene_audit_v1_audit } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { file_selene_engine_v1_engine } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { file_selene_governance_v1_governance } from "../../gen/es/selene/governance/v1/governance_pb.js";
import { file_selene_os_v1_turn } from "../../gen/es/selene/os/v1/turn_pb.js";
import { file_selene_outbox_v1_outbox } from "../../gen/es/selene/outbox/v1/outbox_pb.js";

export function todayRegistry(): Registry {
  return createRegistry(
    file_selene_audit_v1_audit,
    file_selene_engine_v1_engine,
    file_selene_governance_v1_governance,
    file_selene_os_v1_turn,
    file_selene_outbox_v1_outbox,
  );
}
