/** A promise and its resolver, for tests that hold a step back and let it go at a point they choose. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
