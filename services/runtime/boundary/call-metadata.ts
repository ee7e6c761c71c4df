/**
 * A call's request metadata as the boundary and handlers see it, whatever
 * carried it: grpc-js Metadata (text values; binary `-bin` entries are not
 * text and are left out) or the headers of an HTTP request (a Connect call).
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Metadata } from "@grpc/grpc-js";
import type { CallMetadata } from "../unary-service.js";

const NONE: readonly string[] = Object.freeze([]);

/** The text values of grpc-js metadata. */
export function grpcCallMetadata(metadata: Metadata): CallMetadata {
  return {
    get(key) {
      const values = metadata.get(key);
      if (values.length === 0) return NONE;
      return values.filter((v): v is string => typeof v === "string");
    },
    keys: () => Object.keys(metadata.getMap()),
  };
}

/** The headers of an HTTP request (Node lower-cases their names). */
export function httpCallMetadata(headers: IncomingHttpHeaders): CallMetadata {
  return {
    get(key) {
      const value = headers[key];
      if (value === undefined) return NONE;
      return typeof value === "string" ? [value] : value;
    },
    keys: () => Object.keys(headers).filter((key) => !key.startsWith(":")),
  };
}
