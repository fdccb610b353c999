import '@testing-library/jest-dom/vitest';

import { cleanup } from '@testing-library/react';
import { afterEach, beforeAll, beforeEach, vi } from 'vitest';

import { stopSession } from '@/lib/session/session';

import { FakeBroadcastChannel } from './fake-broadcast-channel';
import { removeLocks } from './fake-locks';

// jsdom lacks the browser APIs Mantine reads while rendering.
beforeAll(() => {
  window.matchMedia = (query: string): MediaQueryList => ({
    matches: false,
    media: query,
    onchange: null,
    // MediaQueryList still declares these legacy methods, so the stub needs them.
    /* eslint-disable @typescript-eslint/no-deprecated */
    addListener: () => undefined,
    removeListener: () => undefined,
    /* eslint-enable @typescript-eslint/no-deprecated */
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
    dispatchEvent: () => false,
  });
  // Mantine's combobox scrolls the option it selects into view.
  Element.prototype.scrollIntoView = () => undefined;
  window.ResizeObserver = class {
    observe(): void {}
    unobserve(): void {}
    disconnect(): void {}
  };
});

// Node's real BroadcastChannel would carry messages between test files; every
// test gets the synchronous in-memory fake instead.
beforeEach(() => {
  FakeBroadcastChannel.reset();
  vi.stubGlobal('BroadcastChannel', FakeBroadcastChannel);
});

afterEach(() => {
  cleanup();
  stopSession();
  removeLocks();
});
