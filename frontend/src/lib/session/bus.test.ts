import { describe, expect, it, vi } from 'vitest';

import { FakeBroadcastChannel } from '@/testing/fake-broadcast-channel';

import { busChannelName, openSessionBus, type SessionEvent } from './bus';

describe('session bus over BroadcastChannel', () => {
  it('delivers events to the other tabs, not back to the sender', () => {
    const heardA: SessionEvent[] = [];
    const heardB: SessionEvent[] = [];
    const a = openSessionBus((e) => heardA.push(e));
    const b = openSessionBus((e) => heardB.push(e));

    a.post('logout');
    b.post('login');

    expect(heardA).toEqual(['login']);
    expect(heardB).toEqual(['logout']);
    a.close();
    b.close();
  });

  it('sends only the event name and a nonce', () => {
    const a = openSessionBus(() => undefined);
    a.post('session-revoked');
    a.post('session-revoked');

    const [first, second] = FakeBroadcastChannel.posted.map((m) => m.data as Record<string, string>);
    expect(Object.keys(first ?? {}).sort()).toEqual(['nonce', 'type']);
    expect(first?.['type']).toBe('session-revoked');
    expect(first?.['nonce']).toMatch(/^[0-9a-f]{24}$/);
    expect(second?.['nonce']).not.toBe(first?.['nonce']);
    a.close();
  });

  it('ignores messages that are not session events', () => {
    const heard: SessionEvent[] = [];
    const bus = openSessionBus((e) => heard.push(e));
    const other = new FakeBroadcastChannel(busChannelName);

    other.postMessage({ type: 'take-over', token: 'x' });
    other.postMessage('logout');
    other.postMessage(null);
    other.postMessage({ type: 'logout' });

    expect(heard).toEqual(['logout']);
    bus.close();
  });
});

describe('session bus over storage events (no BroadcastChannel)', () => {
  it('writes the event name and a nonce only, removes it at once, and hears other tabs', () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const writes: { key: string; value: string }[] = [];
    const setItem = vi.spyOn(Storage.prototype, 'setItem').mockImplementation(function (key, value) {
      writes.push({ key, value });
    });
    const removeItem = vi.spyOn(Storage.prototype, 'removeItem').mockImplementation(() => undefined);
    const heard: SessionEvent[] = [];
    const bus = openSessionBus((e) => heard.push(e));

    bus.post('logout');

    expect(setItem).toHaveBeenCalledOnce();
    expect(writes[0]?.key).toBe(busChannelName);
    const value = JSON.parse(writes[0]?.value ?? '{}') as Record<string, string>;
    expect(Object.keys(value).sort()).toEqual(['nonce', 'type']);
    expect(value['type']).toBe('logout');
    expect(removeItem).toHaveBeenCalledWith(busChannelName);

    // Another tab's write arrives as a storage event; its removal (newValue null) is ignored.
    window.dispatchEvent(
      new StorageEvent('storage', { key: busChannelName, newValue: JSON.stringify({ type: 'login', nonce: 'n1' }) }),
    );
    window.dispatchEvent(new StorageEvent('storage', { key: busChannelName, newValue: null }));
    window.dispatchEvent(new StorageEvent('storage', { key: 'something-else', newValue: '{"type":"logout"}' }));
    window.dispatchEvent(new StorageEvent('storage', { key: busChannelName, newValue: 'not json' }));
    expect(heard).toEqual(['login']);

    bus.close();
    window.dispatchEvent(
      new StorageEvent('storage', { key: busChannelName, newValue: JSON.stringify({ type: 'login', nonce: 'n2' }) }),
    );
    expect(heard).toEqual(['login']);
  });
});
