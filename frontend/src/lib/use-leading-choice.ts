import { useState } from 'react';

/**
 * useLeadingChoice gives a control kept in the URL the value last chosen in it
 * until the URL has caught up: React Router applies a navigation in a
 * transition, after the route's loader, and a key pressed meanwhile (Backspace held down on
 * the chips) would otherwise count from the old value and take the same chip
 * off twice. The URL wins again once it holds the choice, or once it moves
 * elsewhere than through this control's choices (back, a link). urlKey
 * names the URL's value, keyOf a chosen one, alike.
 */
export function useLeadingChoice<T>(fromUrl: T, urlKey: string, keyOf: (v: T) => string): [T, (v: T) => void] {
  const [picked, setPicked] = useState<{ value: T; ours: string[] } | null>(null);
  if (picked !== null && urlKey === keyOf(picked.value)) {
    // Caught up: from here the URL leads (back to an earlier value too).
    setPicked(null);
  }
  const leading = picked !== null && urlKey !== keyOf(picked.value) && picked.ours.includes(urlKey) ? picked : null;
  const choose = (v: T) => {
    setPicked({ value: v, ours: [...(leading === null ? [urlKey] : leading.ours), keyOf(v)] });
  };
  return [leading === null ? fromUrl : leading.value, choose];
}
