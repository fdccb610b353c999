import { maxPasswordBytes, minPasswordChars, minPasswordScore } from '@/config/password';

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
