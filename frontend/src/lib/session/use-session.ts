import { useSyncExternalStore } from 'react';

import { getSessionSnapshot, subscribeSession, type SessionSnapshot } from './session';

/** useSession re-renders the component whenever the session's state changes. */
export function useSession(): SessionSnapshot {
  return useSyncExternalStore(subscribeSession, getSessionSnapshot);
}
