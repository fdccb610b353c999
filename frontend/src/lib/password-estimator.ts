type Estimator = typeof import('@/lib/password-strength');

let loaded: Estimator | null = null;

/**
 * loadEstimator loads zxcvbn-ts and its dictionaries on first use (a separate
 * chunk), so pages without a new-password field never download them.
 */
export async function loadEstimator(): Promise<Estimator> {
  if (loaded === null) {
    loaded = await import('@/lib/password-strength');
  }
  return loaded;
}

/** loadedEstimator is the estimator once `loadEstimator` has loaded it, else null. */
export function loadedEstimator(): Estimator | null {
  return loaded;
}
