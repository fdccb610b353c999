import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { installFakeLocks, removeLocks } from '@/testing/fake-locks';

import { lockWaitLimitMs, refreshLockName, withRefreshLock } from './lock';

function deferred() {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('withRefreshLock', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    removeLocks();
  });

  it('runs the task directly where Web Locks are missing', async () => {
    removeLocks();
    await expect(withRefreshLock(new AbortController().signal, () => Promise.resolve(42))).resolves.toBe(42);
  });

  it('lets one task at a time run, in order', async () => {
    const locks = installFakeLocks();
    const order: string[] = [];
    const first = deferred();
    const a = withRefreshLock(new AbortController().signal, async () => {
      order.push('a start');
      await first.promise;
      order.push('a end');
    });
    const b = withRefreshLock(new AbortController().signal, () => {
      order.push('b');
      return Promise.resolve();
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(['a start']);
    expect(locks.isHeld(refreshLockName)).toBe(true);

    first.resolve();
    await Promise.all([a, b]);

    expect(order).toEqual(['a start', 'a end', 'b']);
    expect(locks.maxConcurrent).toBe(1);
  });

  it('stops waiting when aborted', async () => {
    installFakeLocks();
    const hold = deferred();
    const holder = withRefreshLock(new AbortController().signal, () => hold.promise);
    const controller = new AbortController();
    const task = vi.fn(() => Promise.resolve());
    const waiter = withRefreshLock(controller.signal, task);
    await vi.advanceTimersByTimeAsync(0);

    controller.abort();

    await expect(waiter).rejects.toThrow();
    hold.resolve();
    await holder;
    expect(task).not.toHaveBeenCalled();
  });

  it('goes ahead without the lock when its holder seems stuck (a frozen tab)', async () => {
    installFakeLocks();
    const holder = withRefreshLock(new AbortController().signal, () => new Promise<void>(() => undefined));
    const task = vi.fn(() => Promise.resolve('done'));
    const waiter = withRefreshLock(new AbortController().signal, task);

    await vi.advanceTimersByTimeAsync(lockWaitLimitMs - 1);
    expect(task).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);

    await expect(waiter).resolves.toBe('done');
    void holder;
  });
});
