/**
 * The cross-tab bus: tells the other tabs of this browser that someone signed
 * in, signed out, or found the session ended. It never carries a token; every
 * tab gets its own access token through a refresh.
 *
 * BroadcastChannel where available; otherwise a `storage` event, which other
 * tabs of the origin receive when a key changes. That fallback writes only the
 * event name and a random nonce (so two equal events in a row still change the
 * value) and removes the key at once.
 */

/** SessionEvent is what one tab tells the others. */
export type SessionEvent = 'login' | 'logout' | 'session-revoked';

const sessionEvents: readonly SessionEvent[] = ['login', 'logout', 'session-revoked'];

/** busChannelName names the BroadcastChannel (and the storage key of the fallback). */
export const busChannelName = 'labreview-session';

/** SessionBus posts events to the other tabs. */
export interface SessionBus {
  post(event: SessionEvent): void;
  close(): void;
}

/** BusMessage is the whole message: an event name and a nonce, nothing else. */
interface BusMessage {
  type: SessionEvent;
  nonce: string;
}

function nonce(): string {
  // crypto.randomUUID needs a secure context; getRandomValues works everywhere.
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function parse(data: unknown): SessionEvent | null {
  if (typeof data !== 'object' || data === null) {
    return null;
  }
  const type = (data as Record<string, unknown>)['type'];
  return sessionEvents.find((e) => e === type) ?? null;
}

/** webStorage returns localStorage when the browser lets this page use it. */
function webStorage(): Storage | null {
  try {
    // The storage fallback of the bus is the one use of web storage: it carries
    // an event name and a nonce, never a token, and removes it at once.
    // eslint-disable-next-line no-restricted-globals
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/** openSessionBus starts listening for the other tabs' events. */
export function openSessionBus(onEvent: (event: SessionEvent) => void): SessionBus {
  if (typeof BroadcastChannel !== 'undefined') {
    const channel = new BroadcastChannel(busChannelName);
    channel.onmessage = (message: MessageEvent) => {
      const event = parse(message.data);
      if (event !== null) {
        onEvent(event);
      }
    };
    return {
      post(event) {
        const message: BusMessage = { type: event, nonce: nonce() };
        channel.postMessage(message);
      },
      close() {
        channel.close();
      },
    };
  }

  const storage = webStorage();
  const onStorage = (e: StorageEvent) => {
    if (e.key !== busChannelName || e.newValue === null) {
      return;
    }
    try {
      const event = parse(JSON.parse(e.newValue));
      if (event !== null) {
        onEvent(event);
      }
    } catch {
      // Not ours, or garbled: ignore.
    }
  };
  window.addEventListener('storage', onStorage);
  return {
    post(event) {
      if (storage === null) {
        return;
      }
      const message: BusMessage = { type: event, nonce: nonce() };
      try {
        storage.setItem(busChannelName, JSON.stringify(message));
        storage.removeItem(busChannelName);
      } catch {
        // Storage full or blocked: the other tabs learn at their next refresh.
      }
    },
    close() {
      window.removeEventListener('storage', onStorage);
    },
  };
}
