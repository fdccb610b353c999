import { describe, expect, it } from 'vitest';

import { ApiError } from '@/lib/api-error';
import { emailProblem, passwordsMatchRule, showFieldProblems } from '@/lib/form';

/** fakeForm records setFieldError calls for a form with the given fields. */
function fakeForm(fields: string[]) {
  const errors: Record<string, unknown> = {};
  return {
    errors,
    getValues: () => Object.fromEntries(fields.map((f) => [f, ''])),
    setFieldError: (path: string, error: unknown) => {
      errors[path] = error;
    },
  };
}

function invalid(details: unknown[], code = 'invalid_input'): ApiError {
  return new ApiError({ status: 400, code, message: 'Check the fields.', details });
}

describe('showFieldProblems', () => {
  it('shows each well-formed detail on the field it names and skips the rest', () => {
    const form = fakeForm(['email', 'name']);
    const shown = showFieldProblems(
      form,
      invalid([{ field: 'email', message: 'Taken.' }, { field: 'role', message: 'Unknown role.' }, { field: 'name' }, 'junk']),
    );
    expect(shown).toBe(true);
    expect(form.errors).toEqual({ email: 'Taken.' });
  });

  it('renames the API’s fields to the form’s', () => {
    const form = fakeForm(['email', 'password']);
    showFieldProblems(form, invalid([{ field: 'username', message: 'Enter an email.' }]), { fields: { username: 'email' } });
    expect(form.errors).toEqual({ email: 'Enter an email.' });
  });

  it('puts a whole error on the field its code names, and a detail for that field wins', () => {
    const byCode = (e: ApiError) => (e.code.startsWith('password_') ? 'password' : undefined);
    const whole = fakeForm(['password']);
    expect(showFieldProblems(whole, invalid([], 'password_too_short'), { byCode })).toBe(true);
    expect(whole.errors).toEqual({ password: 'Check the fields.' });

    const both = fakeForm(['password']);
    showFieldProblems(both, invalid([{ field: 'password', message: 'Too short.' }], 'password_too_short'), { byCode });
    expect(both.errors).toEqual({ password: 'Too short.' });
  });

  it('shows nothing for an error without field problems', () => {
    const form = fakeForm(['email']);
    expect(showFieldProblems(form, new Error('network'))).toBe(false);
    expect(showFieldProblems(form, invalid([], 'conflict'))).toBe(false);
    expect(form.errors).toEqual({});
  });
});

describe('the shared rules', () => {
  it('asks for an @ in an email address', () => {
    expect(emailProblem('ada@example.org')).toBeNull();
    expect(emailProblem('ada')).toBe('Enter an email address, like name@example.org.');
  });

  it('compares a repeated password with its field', () => {
    const rule = passwordsMatchRule<{ password: string; confirm: string }>('password');
    expect(rule('a long secret', { password: 'a long secret', confirm: 'a long secret' })).toBeNull();
    expect(rule('a long secreT', { password: 'a long secret', confirm: 'a long secreT' })).toBe('The passwords do not match.');
  });
});
