/**
 * Starts a Selene OS gRPC server: the service implementations on an mTLS port,
 * plus grpc.health.v1 and grpc.reflection.v1 (so grpcurl and ghz work without
 * proto files), and a second, plaintext port that serves only grpc.health.v1,
 * because Kubernetes gRPC probes cannot present a client certificate.
 */
import { type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import {
  ServerCredentials as Credentials,
  Server,
  type ServerCredentials,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "./logger.js";
import { rawServiceDefinition } from "./raw-service-definition.js";

/** One service to serve. */
export interface ServedService {
  readonly service: DescService;
  readonly implementation: UntypedServiceImplementation;
}

/** Where and how to serve. */
export interface GrpcServerOptions {
  /** host:port of the mTLS port; port 0 picks a free one. */
  readonly address: string;
  /** host:port of the plaintext health-only port; port 0 picks a free one. */
  readonly healthAddress: string;
  readonly credentials: ServerCredentials;
  readonly services: readonly ServedService[];
  readonly logger: Logger;
  /** Largest request accepted by the transport; the boundary validator applies its own limit below it. */
  readonly maxReceiveBytes?: number;
  /**
   * Connections older than this are ended gracefully (GOAWAY; calls in flight get `graceMs` more),
   * so clients handshake again and both ends present the certificates in use after a rotation.
   */
  readonly maxConnectionAgeMs?: number;
}

/** How long calls in flight on a connection past its age may still run. */
const CONNECTION_AGE_GRACE_MS = 30_000;

/** A running server. */
export interface RunningGrpcServer {
  readonly port: number;
  readonly healthPort: number;
  /** Marks every service NOT_SERVING (readiness drops), then drains in-flight calls for up to `graceMs`. */
  shutdown(graceMs?: number): Promise<void>;
}

/** The transitive closure of a file's dependencies, the file first. */
function filesOf(file: DescFile, seen = new Map<string, DescFile>()): Map<string, DescFile> {
  if (seen.has(file.name)) return seen;
  seen.set(file.name, file);
  for (const dep of file.dependencies) filesOf(dep, seen);
  return seen;
}

/** A package definition in the shape @grpc/reflection reads: serialized FileDescriptorProtos. */
function reflectionPackage(services: readonly ServedService[]) {
  const files = new Map<string, DescFile>();
  for (const { service } of services) filesOf(service.file, files);
  const fileDescriptorProtos = [...files.values()].map((f) =>
    Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)),
  );
  const pkg: Record<string, { format: string; type: object; fileDescriptorProtos: Buffer[] }> = {};
  for (const { service } of services) {
    pkg[service.typeName] = { format: "Protocol Buffer 3 DescriptorProto", type: {}, fileDescriptorProtos };
  }
  return pkg;
}

function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port))),
  );
}

function forceAfter(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts serving; resolves once both ports are bound. */
export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const maxReceive = options.maxReceiveBytes ?? 4 * 1024 * 1024;
  const server = new Server({
    "grpc.max_receive_message_length": maxReceive,
    ...(options.maxConnectionAgeMs === undefined
      ? {}
      : {
          "grpc.max_connection_age_ms": options.maxConnectionAgeMs,
          "grpc.max_connection_age_grace_ms": CONNECTION_AGE_GRACE_MS,
        }),
  });
  const statuses = Object.fromEntries([
    ["", "SERVING"],
    ...options.services.map((s) => [s.service.typeName, "SERVING"]),
  ]);
  const health = new HealthImplementation(statuses);
  for (const { service, implementation } of options.services) {
    server.addService(rawServiceDefinition(service), implementation);
  }
  health.addToServer(server);
  // biome-ignore lint/suspicious/noExplicitAny: the package definition shape is structural
  new ReflectionService(reflectionPackage(options.services) as any).addToServer(server);

  const healthServer = new Server();
  health.addToServer(healthServer);

  const port = await bind(server, options.address, options.credentials);
  const healthPort = await bind(healthServer, options.healthAddress, Credentials.createInsecure());
  options.logger.info({ port, health_port: healthPort }, "listening");

  return {
    port,
    healthPort,
    async shutdown(graceMs = 5000) {
      for (const name of Object.keys(statuses)) health.setStatus(name, "NOT_SERVING");
      await forceAfter(server, graceMs);
      await forceAfter(healthServer, 100);
    },
  };
}
