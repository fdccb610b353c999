/** apiBasePath is the same-origin prefix of every server API route. */
export const apiBasePath = '/api';
