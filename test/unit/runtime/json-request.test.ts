import type { DescMessage } from "@bufbuild/protobuf";
import { expect } from "chai";
import { AppendEventsRequestSchema } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { InvokeRequestSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnRequestSchema } from "../../../gen/es/selene/os/v1/turn_pb.js";
import { decodeJsonRequest } from "../../../services/runtime/boundary/json-request.js";
import { checkJsonText } from "../../../services/runtime/boundary/json-syntax.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";

const encode = (text: string) => new TextEncoder().encode(text);

function refusal(
  schema: DescMessage,
  text: string | Uint8Array,
): { reason: string; fieldPath: string; ruleId: string } {
  try {
    decodeJsonRequest(schema, typeof text === "string" ? encode(text) : text);
  } catch (e) {
    if (!(e instanceof SeleneError)) throw e;
    return { reason: ReasonCode[e.reason], fieldPath: e.fieldPath, ruleId: e.violations[0]?.ruleId ?? "" };
  }
  throw new Error(`accepted: ${String(text)}`);
}

const unknownPaths = (schema: DescMessage, text: string) =>
  decodeJsonRequest(schema, encode(text)).unknown.map((v) => v.fieldPath);

describe("strict JSON requests", () => {
  it("accepts JSON and proto field names alike, and an empty body as the empty message", () => {
    const json = decodeJsonRequest(SubmitTurnRequestSchema, encode('{"envelope":{"tenant_id":"a","userId":"b"}}'));
    expect(json.message.envelope?.tenantId).to.equal("a");
    expect(json.message.envelope?.userId).to.equal("b");
    expect(json.unknown).to.deep.equal([]);
    expect(decodeJsonRequest(SubmitTurnRequestSchema, new Uint8Array()).message.envelope).to.equal(undefined);
  });

  it("returns unknown members with their field paths, in lists and maps of messages too", () => {
    expect(unknownPaths(SubmitTurnRequestSchema, '{"evil":1,"envelope":{"evil":{}}}')).to.deep.equal([
      "evil",
      "envelope.evil",
    ]);
    const append = '{"entries":[{"tenantId":"t"},{"event":{"actor":"a","evil":[1]}}],"x y":0}';
    expect(unknownPaths(AppendEventsRequestSchema, append)).to.deep.equal(["entries[1].event.evil", '["x y"]']);
  });

  it("names the field of a value of the wrong type, inside lists and maps", () => {
    expect(refusal(SubmitTurnRequestSchema, '{"text":5}')).to.deep.equal({
      reason: "MALFORMED_MESSAGE",
      fieldPath: "text",
      ruleId: "json_type",
    });
    expect(refusal(AppendEventsRequestSchema, '{"entries":[{},{"event":{"gate":"NOPE"}}]}').fieldPath).to.equal(
      "entries[1].event.gate",
    );
    expect(refusal(InvokeRequestSchema, '{"read":{"args":{"a":"1","b":2}}}').fieldPath).to.equal('read.args["b"]');
    expect(refusal(SubmitTurnRequestSchema, '{"text":"a","confirmation":{}}').fieldPath).to.equal("");
  });

  it("names where a document was cut short, broken or repeated a member", () => {
    expect(refusal(SubmitTurnRequestSchema, '{"envelope":')).to.deep.equal({
      reason: "MALFORMED_MESSAGE",
      fieldPath: "envelope",
      ruleId: "truncated",
    });
    // The number is whole; the object around it is what was cut.
    expect(refusal(SubmitTurnRequestSchema, '{"envelope":{"contractVersion":{"major":1').fieldPath).to.equal(
      "envelope.contract_version",
    );
    expect(refusal(SubmitTurnRequestSchema, '{"envelope":{"contractVersion":{"major":-').fieldPath).to.equal(
      "envelope.contract_version.major",
    );
    expect(refusal(AppendEventsRequestSchema, '{"entries":[{},{"evil":').fieldPath).to.equal("entries[1].evil");
    expect(refusal(SubmitTurnRequestSchema, '{"envelope":{"userId":x}}').ruleId).to.equal("json_syntax");
    expect(refusal(SubmitTurnRequestSchema, '{"text":"a","text":"b"}')).to.deep.equal({
      reason: "MALFORMED_MESSAGE",
      fieldPath: "text",
      ruleId: "duplicate_key",
    });
    expect(refusal(SubmitTurnRequestSchema, "[1]").ruleId).to.equal("json_type");
    expect(refusal(SubmitTurnRequestSchema, Uint8Array.of(0x7b, 0xff, 0x7d)).ruleId).to.equal("utf8");
  });

  it("agrees with JSON.parse on what is well-formed", () => {
    const texts = [
      "{}",
      '{"a":[1,-2.5e+3,true,false,null,"\\u00e9\\n"]}',
      ' { "a" : { "b" : [ ] } } ',
      "0",
      "-",
      "01",
      "1.",
      '"\\x"',
      '{"a":1,}',
      "[1 2]",
      "{'a':1}",
      '"a\u0001"',
      "nul",
      "true false",
    ];
    for (const text of texts) {
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      expect(checkJsonText(text) === undefined, text).to.equal(parses);
    }
  });
});
