import type { ReactNode } from 'react';

import { ApiError, fieldProblems } from '@/lib/api-error';

/** emailProblem is the check an email field makes before sending; the server has the last word. */
export function emailProblem(email: string): string | null {
  return email.includes('@') ? null : 'Enter an email address, like name@example.org.';
}

/** passwordsMatchRule is the rule of a "repeat the password" field, against the form's `field`. */
export function passwordsMatchRule<Values>(field: keyof Values) {
  return (repeated: string, values: Values): string | null =>
    repeated === values[field] ? null : 'The passwords do not match.';
}

/** FormWithErrors is the part of a `@mantine/form` form that showFieldProblems uses. */
interface FormWithErrors {
  getValues: () => object;
  setFieldError: (path: string, error: ReactNode) => void;
}

/** ProblemRouting says where on a form an API error belongs, beyond the fields it names. */
export interface ProblemRouting {
  /** fields renames the API's field names to the form's, e.g. `{ username: 'email' }`. */
  fields?: Readonly<Record<string, string>>;
  /** byCode names the field a whole error belongs to by its code (e.g. `wrong_password`), or undefined. */
  byCode?: (error: ApiError) => string | undefined;
}

/**
 * showFieldProblems shows a failed request's problems on the form's own
 * fields: each `{field, message}` of the error body's `details` on the field
 * of that name (renamed by `routing.fields`), and a whole error that
 * `routing.byCode` assigns to a field on that field. A problem with a field
 * the form does not have is skipped. It returns whether it showed any, so the
 * caller knows whether the error still needs saying elsewhere.
 */
export function showFieldProblems(form: FormWithErrors, error: unknown, routing: ProblemRouting = {}): boolean {
  const values = form.getValues();
  let shown = false;
  const show = (field: string, message: string) => {
    if (field in values) {
      form.setFieldError(field, message);
      shown = true;
    }
  };
  const whole = error instanceof ApiError ? routing.byCode?.(error) : undefined;
  if (whole !== undefined && error instanceof Error) {
    show(whole, error.message);
  }
  for (const problem of fieldProblems(error)) {
    show(routing.fields?.[problem.field] ?? problem.field, problem.message);
  }
  return shown;
}
