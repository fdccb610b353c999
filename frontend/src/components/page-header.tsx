import { Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';

/** PageHeader is the heading every page starts with: its title and one line on what the page is for. */
export function PageHeader({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div>
      <Title order={1}>{title}</Title>
      <Text c="dimmed" mt="xs">
        {children}
      </Text>
    </div>
  );
}
