// wait.mjs - bounded waiting: every wait in the integration tests ends by itself.
// Owns no state; never waits without a deadline.

export const DEFAULT_TIMEOUT_MS = 5000;

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with `promise`, or rejects after `ms` with a message naming `what`. */
export function withTimeout(promise, ms = DEFAULT_TIMEOUT_MS, what = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** First argument of the first emission of `event` (EventEmitter-like or EventTarget). */
export function once(emitter, event, ms = DEFAULT_TIMEOUT_MS) {
  let handler;
  const p = new Promise((resolve) => {
    handler = (first) => resolve(first);
    if (emitter.once) emitter.once(event, handler);
    else emitter.addEventListener(event, handler, { once: true });
  });
  return withTimeout(p, ms, `event "${event}"`).finally(() => {
    if (emitter.off) emitter.off(event, handler);
    else if (emitter.removeListener) emitter.removeListener(event, handler);
    else if (emitter.removeEventListener) emitter.removeEventListener(event, handler);
  });
}

/** Polls `check` (sync or async) until it returns a truthy value; returns that value. */
export async function until(check, ms = DEFAULT_TIMEOUT_MS, what = 'condition', everyMs = 50) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${describe(last)})`);
    }
    await sleep(everyMs);
  }
}

function describe(v) {
  if (v instanceof Error) return v.message;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** Resolves true if `event` fires within `ms`, false otherwise (for "must not happen" checks). */
export function happensWithin(emitter, event, ms) {
  return once(emitter, event, ms).then(
    () => true,
    () => false,
  );
}
