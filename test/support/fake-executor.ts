/** The router's executor as the commit gate sees it: counts its pokes, and its watches are real. */
import { createEffectWatches, type Settlement } from "../../services/router/effect-watches.js";

/** The fake, with what it was asked and a way to report on an effect. */
export interface FakeExecutor {
  readonly pokes: number[];
  poke(): void;
  watch: ReturnType<typeof createEffectWatches>["watch"];
  settle(simulationId: string, settlement: Settlement): void;
}

/** An executor that performs nothing; `onPoke` stands in for its work. */
export function fakeExecutor(onPoke: (executor: FakeExecutor) => void = () => {}): FakeExecutor {
  const watches = createEffectWatches();
  const executor: FakeExecutor = {
    pokes: [],
    poke() {
      executor.pokes.push(1);
      onPoke(executor);
    },
    watch: (simulationId) => watches.watch(simulationId),
    settle: (simulationId, settlement) => watches.settle(simulationId, settlement),
  };
  return executor;
}
