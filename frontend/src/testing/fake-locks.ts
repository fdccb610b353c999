/**
 * FakeLockManager is an exclusive, first-come-first-served stand-in for
 * navigator.locks (jsdom has none). It records how many holders ran at once.
 */
export class FakeLockManager {
  private held = new Set<string>();
  private waiting = new Map<string, (() => void)[]>();
  /** maxConcurrent is the most callbacks that ever ran at once for one name. */
  maxConcurrent = 0;
  granted = 0;
  private active = 0;

  request<T>(
    name: string,
    optionsOrCallback: { signal?: AbortSignal } | ((lock: unknown) => Promise<T> | T),
    maybeCallback?: (lock: unknown) => Promise<T> | T,
  ): Promise<T> {
    const options = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback;
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback;
    if (callback === undefined) {
      return Promise.reject(new TypeError('no callback'));
    }
    return this.acquire(name, options.signal).then(async () => {
      this.granted += 1;
      this.active += 1;
      this.maxConcurrent = Math.max(this.maxConcurrent, this.active);
      try {
        return await callback({ name, mode: 'exclusive' });
      } finally {
        this.active -= 1;
        this.release(name);
      }
    });
  }

  private acquire(name: string, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) {
      return Promise.reject(signal.reason as Error);
    }
    if (!this.held.has(name)) {
      this.held.add(name);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const queue = this.waiting.get(name) ?? [];
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const q = this.waiting.get(name) ?? [];
        this.waiting.set(
          name,
          q.filter((g) => g !== grant),
        );
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(grant);
      this.waiting.set(name, queue);
    });
  }

  private release(name: string): void {
    const next = this.waiting.get(name)?.shift();
    if (next === undefined) {
      this.held.delete(name);
    } else {
      next();
    }
  }

  /** isHeld tells whether someone holds the lock now. */
  isHeld(name: string): boolean {
    return this.held.has(name);
  }
}

/** installFakeLocks puts a FakeLockManager at navigator.locks until the test ends. */
export function installFakeLocks(): FakeLockManager {
  const locks = new FakeLockManager();
  Object.defineProperty(navigator, 'locks', { value: locks, configurable: true });
  return locks;
}

/** removeLocks deletes navigator.locks again. */
export function removeLocks(): void {
  Reflect.deleteProperty(navigator, 'locks');
}
