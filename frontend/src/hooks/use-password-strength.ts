import { useDeferredValue, useEffect, useMemo, useState } from 'react';

import { loadEstimator, loadedEstimator } from '@/lib/password-estimator';
import type { Strength } from '@/lib/password-strength';

/**
 * usePasswordStrength estimates a password's strength with zxcvbn-ts. The
 * estimator and its dictionaries load on first use (a separate chunk), so pages
 * without a new-password field never download them. Null until loaded or while
 * the password is empty.
 */
export function usePasswordStrength(password: string, userInputs: readonly string[]): Strength | null {
  const [estimator, setEstimator] = useState(loadedEstimator);
  const wanted = password !== '';
  useEffect(() => {
    if (!wanted || estimator !== null) {
      return;
    }
    let live = true;
    void loadEstimator().then((m) => {
      if (live) {
        setEstimator(m);
      }
    });
    return () => {
      live = false;
    };
  }, [wanted, estimator]);

  const deferred = useDeferredValue(password);
  const inputsKey = userInputs.join('\u0000');
  return useMemo(
    () => (estimator === null || deferred === '' ? null : estimator.estimateStrength(deferred, inputsKey.split('\u0000'))),
    [estimator, deferred, inputsKey],
  );
}
