import { clearField, clone, create, type DescMessage, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type DescriptorProto,
  DescriptorProtoSchema,
  EnumDescriptorProtoSchema,
  FieldDescriptorProtoSchema,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  ServiceDescriptorProtoSchema,
  SourceCodeInfoSchema,
} from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { file_selene_engine_v1_engine } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { embeddedFileBytes, fileLayout, imageFiles } from "../../../scripts/python-gen/descriptor-wire.js";
import { bytesLiteral, importLine, moduleAlias, typeHomes } from "../../../scripts/python-gen/python-names.js";
import { serviceModule } from "../../../scripts/python-gen/service-module.js";

// The engine contract as protobuf-es embeds it, with json names and a source comment added, as
// buf's image carries them.
function engineFile() {
  const file = clone(FileDescriptorProtoSchema, file_selene_engine_v1_engine.proto);
  for (const message of file.messageType) for (const field of message.field) field.jsonName = `x${field.name}`;
  file.sourceCodeInfo = create(SourceCodeInfoSchema, {
    location: [{ path: [6, 0], span: [1, 1, 1], leadingComments: " The engine service.\n Second line.\n" }],
  });
  return file;
}

describe("python code generation", () => {
  it("embeds the file without source info or json names, and nothing else changed", () => {
    const embedded = embeddedFileBytes(toBinary(FileDescriptorProtoSchema, engineFile()));
    const plain = clone(FileDescriptorProtoSchema, file_selene_engine_v1_engine.proto);
    const unsetJsonNames = (messages: DescriptorProto[]): void => {
      for (const message of messages) {
        for (const field of message.field) clearField(field, FieldDescriptorProtoSchema.field.jsonName);
        unsetJsonNames(message.nestedType);
      }
    };
    unsetJsonNames(plain.messageType);
    expect(equals(FileDescriptorProtoSchema, fromBinary(FileDescriptorProtoSchema, embedded), plain)).to.equal(true);
    expect(embedded.length).to.be.below(toBinary(FileDescriptorProtoSchema, engineFile()).length);
  });

  it("finds each message's, enum's and service's own bytes, nested ones included, under protoc's global names", () => {
    const bytes = embeddedFileBytes(toBinary(FileDescriptorProtoSchema, engineFile()));
    const file = fromBinary(FileDescriptorProtoSchema, bytes);
    const expected = new Map<string, [DescMessage, string]>();
    for (const m of file.messageType) {
      const outer = `_${m.name.toUpperCase()}`;
      expected.set(outer, [DescriptorProtoSchema, m.name]);
      for (const n of m.nestedType) expected.set(`${outer}_${n.name.toUpperCase()}`, [DescriptorProtoSchema, n.name]);
      for (const e of m.enumType) expected.set(`${outer}_${e.name.toUpperCase()}`, [EnumDescriptorProtoSchema, e.name]);
    }
    for (const e of file.enumType) expected.set(`_${e.name.toUpperCase()}`, [EnumDescriptorProtoSchema, e.name]);
    for (const s of file.service) expected.set(`_${s.name.toUpperCase()}`, [ServiceDescriptorProtoSchema, s.name]);
    const layout = fileLayout(bytes);
    expect(layout.elements.map((e) => e.global)).to.have.members([...expected.keys()]);
    for (const element of layout.elements) {
      const [schema, name] = expected.get(element.global)!;
      const decoded = fromBinary(schema, bytes.subarray(element.start, element.end)) as unknown as { name: string };
      expect(decoded.name).to.equal(name);
    }
  });

  it("splits an image into its files", () => {
    const set = create(FileDescriptorSetSchema, { file: [engineFile(), engineFile()] });
    expect(imageFiles(toBinary(FileDescriptorSetSchema, set))).to.have.length(2);
  });

  it("names modules and aliases as protoc does, and escapes bytes for Python", () => {
    expect(importLine("buf/validate/validate.proto")).to.equal(
      "from buf.validate import validate_pb2 as buf_dot_validate_dot_validate__pb2",
    );
    expect(moduleAlias("google/protobuf/field_mask.proto")).to.equal("google_dot_protobuf_dot_field__mask__pb2");
    expect(bytesLiteral(Uint8Array.from([0x0a, 0x27, 0x5c, 0x41, 0x00, 0xff]))).to.equal("b'\\n\\'\\\\A\\x00\\xff'");
  });

  it("writes stubs with the method kinds, paths and comments of the service", () => {
    const file = engineFile();
    const text = serviceModule(file, typeHomes([file]));
    expect(text).to.contain("class EngineServiceStub(object):");
    expect(text).to.contain('    """The engine service.\n    Second line.\n    """');
    expect(text).to.contain("channel.unary_unary(\n                '/selene.engine.v1.EngineService/Invoke',");
    expect(text).to.contain("def add_EngineServiceServicer_to_server(servicer, server):");
    expect(text).to.contain("from selene.engine.v1 import engine_pb2 as selene_dot_engine_dot_v1_dot_engine__pb2");
  });
});
