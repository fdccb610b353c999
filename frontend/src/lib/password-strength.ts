/**
 * Password strength estimation with zxcvbn-ts, the same kind of estimate the
 * server applies (score ≥ 3). The dictionaries are large, so this module is only
 * ever imported dynamically, by the strength meter.
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';

/** Strength is what the meter shows. */
export interface Strength {
  /** score 0 (too guessable) … 4 (very unguessable). */
  score: 0 | 1 | 2 | 3 | 4;
  warning: string | null;
  suggestions: string[];
}

let factory: ZxcvbnFactory | null = null;

/** maxEstimatedChars mirrors the server, which scores only the first 64 characters (matching is superlinear). */
const maxEstimatedChars = 64;

/**
 * userInputWords expands email and name the way the server does: whole values,
 * the email's local part, and their words of three or more letters, so
 * "alice.smith2024" counts as weak for Alice Smith.
 */
export function userInputWords(inputs: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of inputs) {
    const input = raw.trim().toLowerCase();
    if (input === '') {
      continue;
    }
    const forms = [input];
    const at = input.indexOf('@');
    if (at > 0) {
      forms.push(input.slice(0, at));
    }
    for (const form of forms) {
      out.add(form);
      const words = form.split(/[^\p{L}\p{N}]+/u).filter((w) => w !== '');
      if (words.length > 1) {
        out.add(words.join(''));
      }
      for (const w of words) {
        if (Array.from(w).length >= 3) {
          out.add(w);
        }
      }
    }
  }
  return [...out];
}

/** estimateStrength scores a password, treating `userInputs` (email, name) as easy to guess. */
export function estimateStrength(password: string, userInputs: readonly string[] = []): Strength {
  factory ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    translations: en.translations,
  });
  const estimated = Array.from(password).slice(0, maxEstimatedChars).join('');
  const result = factory.check(estimated, userInputWords(userInputs));
  return {
    score: result.score,
    warning: result.feedback.warning ?? null,
    suggestions: result.feedback.suggestions,
  };
}
