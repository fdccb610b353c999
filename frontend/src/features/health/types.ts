/** Health is the body of `GET /api/health`. */
export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  database: {
    status: 'up' | 'down';
    mode: 'embedded' | 'hosted';
  };
}
