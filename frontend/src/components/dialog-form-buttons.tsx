import { Button, Group } from '@mantine/core';

/**
 * DialogFormButtons ends a dialog's form: Cancel, which closes it (held while
 * the request is under way), and the submit button, which shows the wait.
 */
export function DialogFormButtons({ submitLabel, pending, onCancel }: { submitLabel: string; pending: boolean; onCancel: () => void }) {
  return (
    <Group justify="flex-end" gap="sm">
      <Button variant="default" onClick={onCancel} disabled={pending}>
        Cancel
      </Button>
      <Button type="submit" loading={pending}>
        {submitLabel}
      </Button>
    </Group>
  );
}
