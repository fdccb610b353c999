import { useParams } from 'react-router';

import { RunPage } from '@/features/runs/components/run-page';

/** RunRoute is one run's page (loaded on demand). */
export function RunRoute() {
  const { id = '' } = useParams();
  return <RunPage key={id} id={id} />;
}
