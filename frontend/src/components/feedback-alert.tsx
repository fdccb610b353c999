import { Alert } from '@mantine/core';
import type { ReactNode } from 'react';

/** FeedbackAlert confirms an action that succeeded, until dismissed. */
export function FeedbackAlert({ children, onClose }: { children: ReactNode; onClose: () => void }) {
  return (
    <Alert color="green" variant="light" role="status" withCloseButton closeButtonLabel="Dismiss" onClose={onClose}>
      {children}
    </Alert>
  );
}
