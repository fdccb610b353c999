import type { components } from '@/types/openapi';

/** Health is the body of `GET /api/health` (generated from the OpenAPI document). */
export type Health = components['schemas']['Health'];
