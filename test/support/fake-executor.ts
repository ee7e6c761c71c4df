/** The router's executor as the commit gate sees it: counts its pokes, and its watches are real. */
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { LeasedEffect } from "../../gen/es/selene/outbox/v1/outbox_pb.js";
import type { EnqueueLeaseAsk } from "../../services/router/effect-executor.js";
import { createEffectWatches, type Settlement } from "../../services/router/effect-watches.js";

/** The fake, with what it was asked and a way to report on an effect. */
export interface FakeExecutor {
  readonly pokes: number[];
  /** The effects Enqueue handed it already leased. */
  readonly adopted: LeasedEffect[];
  poke(): void;
  watch: ReturnType<typeof createEffectWatches>["watch"];
  settle(simulationId: string, settlement: Settlement): void;
  enqueueLease(): EnqueueLeaseAsk | undefined;
  adopt(leased: LeasedEffect): void;
}

/** The executor id the fake asks leases for. */
export const FAKE_EXECUTOR_ID = "fake-executor";

/**
 * An executor that performs nothing; `onPoke` stands in for its loop's work, `onAdopt` for its work
 * on an effect handed over leased.
 */
export function fakeExecutor(
  onPoke: (executor: FakeExecutor) => void = () => {},
  onAdopt: (executor: FakeExecutor, leased: LeasedEffect) => void = () => {},
): FakeExecutor {
  const watches = createEffectWatches();
  const executor: FakeExecutor = {
    pokes: [],
    adopted: [],
    poke() {
      executor.pokes.push(1);
      onPoke(executor);
    },
    watch: (simulationId) => watches.watch(simulationId),
    settle: (simulationId, settlement) => watches.settle(simulationId, settlement),
    enqueueLease: () => ({ executorId: FAKE_EXECUTOR_ID, leaseDuration: durationFromMs(30_000) }),
    adopt(leased) {
      executor.adopted.push(leased);
      onAdopt(executor, leased);
    },
  };
  return executor;
}
