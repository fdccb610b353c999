import { maxPasswordBytes, minPasswordChars, minPasswordScore } from '@/config/password';
import { ApiError } from '@/lib/api-error';
import { loadedEstimator } from '@/lib/password-estimator';

/**
 * newPasswordProblem says what is wrong with a new password before it is sent,
 * or null. `score` is the strength meter's estimate (null while it loads); the
 * server has the last word either way.
 */
export function newPasswordProblem(password: string, score: number | null): string | null {
  if (Array.from(password).length < minPasswordChars) {
    return `Use at least ${minPasswordChars} characters.`;
  }
  if (new TextEncoder().encode(password).length > maxPasswordBytes) {
    return `Use at most ${maxPasswordBytes} bytes.`;
  }
  if (score !== null && score < minPasswordScore) {
    return 'This password is too easy to guess: the server requires a strength of at least “good”.';
  }
  return null;
}

/**
 * newPasswordRule is the form rule of a new-password field: newPasswordProblem
 * with the strength meter's score once its estimator has loaded (the field's
 * NewPasswordInput loads it as soon as something is typed). `userInputs` gives
 * the words the password must not lean on, such as the account's email and name.
 */
export function newPasswordRule<Values>(userInputs: (values: Values) => readonly string[]) {
  return (password: string, values: Values): string | null => {
    const estimator = loadedEstimator();
    const score = estimator === null || password === '' ? null : estimator.estimateStrength(password, userInputs(values)).score;
    return newPasswordProblem(password, score);
  };
}

/** isPasswordRuleError tells the server's refusal of a new password (`password_too_short`, …) from other errors. */
export function isPasswordRuleError(error: unknown): error is ApiError {
  return error instanceof ApiError && error.code.startsWith('password_');
}
