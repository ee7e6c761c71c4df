/**
 * A minimal grpc.reflection.v1 client over raw bytes: lists the services a
 * server offers and fetches the file descriptors that define a symbol, which is
 * all grpcurl needs from an engine.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Client } from "@grpc/grpc-js";

const INFO_PATH = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";

/** What a reflection exchange gave: the listed services, the descriptors, and any error the server named. */
export interface ReflectionAnswer {
  readonly services: string[];
  readonly files: FileDescriptorProto[];
  readonly errors: string[];
}

/** ServerReflectionRequest { list_services = 7 } and { file_containing_symbol = 4 }. */
function requestBytes(field: 4 | 7, value: string): Buffer {
  return Buffer.from(new BinaryWriter().tag(field, WireType.LengthDelimited).string(value).finish());
}

/** Reads the fields of one ServerReflectionResponse into `answer`. */
function readResponse(bytes: Uint8Array, answer: ReflectionAnswer): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 6 || field === 4 || field === 7) {
      const inner = new BinaryReader(reader.bytes());
      while (inner.pos < inner.len) {
        const [f, w] = inner.tag();
        if (field === 6 && f === 1) {
          const service = new BinaryReader(inner.bytes());
          while (service.pos < service.len) {
            const [sf, sw] = service.tag();
            if (sf === 1) answer.services.push(service.string());
            else service.skip(sw);
          }
        } else if (field === 4 && f === 1) answer.files.push(fromBinary(FileDescriptorProtoSchema, inner.bytes()));
        else if (field === 7 && f === 2) answer.errors.push(inner.string());
        else inner.skip(w);
      }
    } else reader.skip(wireType);
  }
}

/** Asks the server behind `client` for its services and the files defining `symbol`, on one stream. */
export function reflect(client: Client, symbol: string, timeoutMs: number): Promise<ReflectionAnswer> {
  const answer: ReflectionAnswer = { services: [], files: [], errors: [] };
  return new Promise((resolve, reject) => {
    const call = client.makeBidiStreamRequest(
      INFO_PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      { deadline: Date.now() + timeoutMs },
    );
    call.on("data", (bytes: Buffer) => {
      try {
        readResponse(bytes, answer);
      } catch (e) {
        call.cancel();
        reject(e);
      }
    });
    call.on("error", reject);
    call.on("end", () => resolve(answer));
    call.write(requestBytes(7, "*"));
    call.write(requestBytes(4, symbol));
    call.end();
  });
}
