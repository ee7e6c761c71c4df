import { expect } from "chai";
import { ConfigError, readServiceConfig } from "../../../services/runtime/service-config.js";

describe("service config", () => {
  describe("metrics address", () => {
    it("defaults to the process's local metrics port", () => {
      expect(readServiceConfig({}, "nlp").metricsAddress).to.equal("127.0.0.1:50261");
    });

    it("reads SELENE_<NAME>_METRICS_ADDR", () => {
      const config = readServiceConfig({ SELENE_ROUTER_METRICS_ADDR: "0.0.0.0:9464" }, "router");
      expect(config.metricsAddress).to.equal("0.0.0.0:9464");
    });

    it("refuses an address without a port", () => {
      expect(() => readServiceConfig({ SELENE_NLP_METRICS_ADDR: "localhost" }, "nlp")).to.throw(
        ConfigError,
        "SELENE_NLP_METRICS_ADDR",
      );
    });
  });

  describe("tracing", () => {
    it("exports no spans by default", () => {
      expect(readServiceConfig({}, "nlp").tracing).to.equal(undefined);
    });

    it("exports to the local OTLP/HTTP port with SELENE_TRACING=otlp", () => {
      expect(readServiceConfig({ SELENE_TRACING: "otlp" }, "nlp").tracing).to.deep.equal({
        exporter: "otlp",
        url: "http://127.0.0.1:4318/v1/traces",
      });
    });

    it("appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT and turns export on", () => {
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector.monitoring:4318/" };
      expect(readServiceConfig(env, "nlp").tracing?.url).to.equal("http://collector.monitoring:4318/v1/traces");
    });

    it("uses OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given", () => {
      const env = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://otel.example:4318/custom", SELENE_TRACING: "otlp" };
      expect(readServiceConfig(env, "nlp").tracing?.url).to.equal("https://otel.example:4318/custom");
    });

    it("keeps export off with SELENE_TRACING=off even when an endpoint is set", () => {
      const env = { SELENE_TRACING: "off", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
      expect(readServiceConfig(env, "nlp").tracing).to.equal(undefined);
    });

    it("refuses an unknown mode and an endpoint that is not an http URL", () => {
      expect(() => readServiceConfig({ SELENE_TRACING: "jaeger" }, "nlp")).to.throw(ConfigError, "SELENE_TRACING");
      expect(() => readServiceConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, "nlp")).to.throw(
        ConfigError,
        "OTLP",
      );
    });
  });
});
