/** paths lists the client-side routes, so links and the router cannot drift apart. */
export const paths = {
  overview: { path: '/', label: 'Overview' },
  status: { path: '/status', label: 'Server status' },
} as const;
