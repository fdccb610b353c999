/** Password rules the server enforces (auth/password.go), shown before sending. */

/** minPasswordChars: shorter passwords are refused (password_too_short). */
export const minPasswordChars = 12;

/** minPasswordScore: passwords zxcvbn scores lower are refused (password_too_common). */
export const minPasswordScore = 3;

/** maxPasswordBytes: longer passwords (in UTF-8 bytes) are refused (password_too_long). */
export const maxPasswordBytes = 1024;

/** passwordRule is the rule in words, shown beside every new-password field. */
export const passwordRule =
  'At least 12 characters and rated at least “good” (3 of 4) by the strength meter; the server refuses weaker passwords. A few unrelated words make a strong, memorable password.';
