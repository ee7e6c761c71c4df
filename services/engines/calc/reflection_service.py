"""grpc.reflection.v1.ServerReflection for the calc engine, so that grpcurl and ghz work against it
without proto files, as they do against every Node server of the mesh.

Debian's python3-grpcio ships no grpc_reflection, so the stubs come from the reflection.proto of
the npm package @grpc/reflection, built by deploy/build-python.ts (module `reflection.v1`).

What it reveals is fixed at start: the services it is given (the EngineService, grpc.health.v1 and
itself) and the files that declare them, with their transitive imports, taken from the generated
modules' descriptors. A name outside that set is NOT_FOUND, even when the process has loaded it.
Each file answer carries the serialized FileDescriptorProto of the file first, then of every file
it imports, directly or not. Extensions are not served (UNIMPLEMENTED).

It is served on the mTLS port only, open to any peer whose certificate the CA signed: like the
Node servers (services/runtime/grpc-server.ts), the router-only allow-list guards the
EngineService's calls, not the description of its contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import grpc
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import FileDescriptor
from reflection.v1 import reflection_pb2, reflection_pb2_grpc

DESCRIPTOR = reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"]
SERVICE_NAME = DESCRIPTOR.full_name

# google.rpc.Code values, as the protocol's ErrorResponse.error_code carries them.
INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT.value[0]
NOT_FOUND = grpc.StatusCode.NOT_FOUND.value[0]
UNIMPLEMENTED = grpc.StatusCode.UNIMPLEMENTED.value[0]


def _closure(file: FileDescriptor, seen: dict[str, FileDescriptor]) -> None:
    """Adds `file` and everything it imports, directly or not, to `seen` (the file first)."""
    if file.name in seen:
        return
    seen[file.name] = file
    for dependency in file.dependencies:
        _closure(dependency, seen)


class ReflectionService(reflection_pb2_grpc.ServerReflectionServicer):
    def __init__(self, services: Iterable[str], pool: descriptor_pool.DescriptorPool | None = None) -> None:
        """`services`: the full names of the services served beside this one; their generated
        modules must be imported (the default pool holds what they declared)."""
        self._pool = pool if pool is not None else descriptor_pool.Default()
        self._services = sorted(set(services) | {SERVICE_NAME})
        served: dict[str, FileDescriptor] = {}
        for name in self._services:
            _closure(self._pool.FindServiceByName(name).file, served)
        # Per served file: the serialized descriptors of the file and of its transitive imports.
        self._answers: dict[str, tuple[bytes, ...]] = {}
        for name, file in served.items():
            files: dict[str, FileDescriptor] = {}
            _closure(file, files)
            self._answers[name] = tuple(f.serialized_pb for f in files.values())

    @property
    def services(self) -> list[str]:
        return list(self._services)

    def ServerReflectionInfo(  # noqa: N802
        self, request_iterator: Iterator[reflection_pb2.ServerReflectionRequest], context: grpc.ServicerContext
    ) -> Iterator[reflection_pb2.ServerReflectionResponse]:
        for request in request_iterator:
            yield self.answer(request)

    def answer(self, request: reflection_pb2.ServerReflectionRequest) -> reflection_pb2.ServerReflectionResponse:
        """The response to one request of the stream."""
        response = reflection_pb2.ServerReflectionResponse(valid_host=request.host, original_request=request)
        kind = request.WhichOneof("message_request")
        if kind == "list_services":
            response.list_services_response.service.extend(
                reflection_pb2.ServiceResponse(name=name) for name in self._services
            )
        elif kind == "file_by_filename":
            self._files(response, request.file_by_filename, f"unknown file {request.file_by_filename!r}")
        elif kind == "file_containing_symbol":
            symbol = request.file_containing_symbol
            self._files(response, self._file_of_symbol(symbol), f"unknown symbol {symbol!r}")
        elif kind in ("file_containing_extension", "all_extension_numbers_of_type"):
            _error(response, UNIMPLEMENTED, f"{kind} is not supported: the engine serves no extensions")
        else:
            _error(response, INVALID_ARGUMENT, "the request names no message_request")
        return response

    def _file_of_symbol(self, symbol: str) -> str | None:
        """The file declaring a service, method, message, field or enum by its full name, if known."""
        try:
            return self._pool.FindFileContainingSymbol(symbol).name
        except KeyError:
            pass
        # Some pool implementations do not index methods: look for them through their service.
        parent, _, leaf = symbol.rpartition(".")
        try:
            service = self._pool.FindServiceByName(parent)
        except KeyError:
            return None
        return service.file.name if leaf in service.methods_by_name else None

    def _files(self, response: reflection_pb2.ServerReflectionResponse, name: str | None, unknown: str) -> None:
        answer = self._answers.get(name) if name is not None else None
        if answer is None:
            _error(response, NOT_FOUND, unknown)
        else:
            response.file_descriptor_response.file_descriptor_proto.extend(answer)


def _error(response: reflection_pb2.ServerReflectionResponse, code: int, message: str) -> None:
    response.error_response.error_code = code
    response.error_response.error_message = message


def add_to_server(service: ReflectionService, server: grpc.Server) -> None:
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(service, server)
